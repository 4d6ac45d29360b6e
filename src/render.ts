// report.md from report.json, pure: what a person reads on the pull request and in the job
// summary. Guest output is untrusted text: it goes only into code fences longer than any
// backtick run it contains (so it cannot close them), and table cells are escaped (no Markdown,
// no HTML, no @mentions).
import { flakeHost } from './flake.js';
import type { LockChange, Report } from './report.js';

/** Escapes text for a Markdown table cell or a line of prose. */
export function cell(text: string): string {
  return text
    .replace(/\r?\n/g, ' ')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\`*_{}[\]()#+!|~])/g, '\\$1')
    .replace(/@/g, '@\u200b');
}

/** A fenced code block that its content cannot close. */
export function fence(text: string, info = 'text'): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const f = '`'.repeat(longest + 1);
  return `${f}${info}\n${text.replace(/\s+$/, '')}\n${f}`;
}

const secs = (ms: number) => (ms >= 60_000 ? `${Math.floor(ms / 60_000)}m ${((ms % 60_000) / 1000).toFixed(0).padStart(2, '0')}s` : `${(ms / 1000).toFixed(1)}s`);
const mark = (s: string) => (s === 'pass' ? '✅' : s === 'fail' ? '❌' : '⏭️');

/** For HTML (a <summary>): no Markdown is parsed there, so only HTML and mentions are escaped. */
function html(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/@/g, '@\u200b').replace(/\r?\n/g, ' ');
}

function details(summary: string, body: string): string {
  return `<details><summary>${html(summary)}</summary>\n\n${body}\n\n</details>`;
}

/**
 * An identifier as inline code when it is plain (ids, revisions); anything else through cell():
 * inside backticks Markdown takes no escapes, so a backtick in it would end the code span.
 */
export function code(text: string): string {
  return /^[\w.:/+#-]+$/.test(text) ? `\`${text}\`` : cell(text);
}

/** A lock revision, short as git prints it; lock files come from the pull request, so escaped. */
const shortRev = (rev?: string) => (rev ? code(rev.slice(0, 7)) : '—');
/** `lastModified` (seconds since the epoch) as a UTC date, as `nix flake metadata` shows it. */
function day(t?: number): string {
  const d = typeof t === 'number' ? new Date(t * 1000) : undefined;
  return d && !Number.isNaN(d.getTime()) ? d.toISOString().slice(0, 10) : '—';
}

function lockTable(changes: LockChange[]): string[] {
  const rows = changes.map((c) => `| ${cell(c.input)} | ${cell(c.change)} | ${shortRev(c.old?.rev)} → ${shortRev(c.new?.rev)} | ${day(c.old?.lastModified)} → ${day(c.new?.lastModified)} |`);
  return ['**Flake inputs changed against the base branch**', '', '| Input | Change | Revision | Last modified (UTC) |', '| --- | --- | --- | --- |', ...rows];
}

const kib = (bytes: number) => `${bytes >= 0 ? '+' : '−'}${(Math.abs(bytes) / 1024).toFixed(1)} KiB`;
const versions = (v: string[]) => (v.length ? v.map((x) => x || 'ε').join(', ') : '∅');

/** What the upgrade (or the rebuild) changed: the closure, the units, whether a reboot is needed. */
function changesSection(r: Report): string[] {
  const c = r.changes!;
  const title = r.mode === 'upgrade' ? `**What the upgrade changes** (from ${code(r.base?.flake ?? '')})` : '**What the rebuild changed**';
  const out = [title, ''];
  if (r.base?.cachedFrom) out.push('- Base: the installed base configuration, taken from the cache (no installer, no install)');
  if (r.base?.cacheFallback) out.push(`- Base: installed afresh, because ${cell(r.base.cacheFallback)}`);
  if (c.reboot) out.push(`- Reboot needed: ${c.reboot.needed ? `**yes** (${c.reboot.because.map(cell).join(', ')} changed)` : 'no (same kernel, initrd, modules and systemd)'}`);
  if (c.units) {
    for (const [k, label] of [['stopped', 'stopped'], ['started', 'started'], ['restarted', 'restarted'], ['reloaded', 'reloaded'], ['newlyStarted', 'newly started'], ['failed', 'failed']] as const) {
      if (c.units[k].length) out.push(`- Units ${label} by the switch: ${c.units[k].map((u) => code(u)).join(', ')}`);
    }
    if (!Object.values(c.units).some((l) => l.length)) out.push('- The switch started, stopped, restarted or reloaded no unit');
  }
  if (c.closure) {
    out.push(`- Closure: ${c.closure.packages.length} package(s) changed, ${kib(c.closure.sizeDelta)}`);
    if (c.closure.packages.length) {
      const rows = c.closure.packages.map((p) => `| ${code(p.name)} | ${cell(versions(p.removed))} → ${cell(versions(p.added))} | ${p.sizeDelta === undefined ? '' : kib(p.sizeDelta)} |`);
      out.push('', details('Closure difference (nix store diff-closures)', ['| Package | Versions | Size |', '| --- | --- | --- |', ...rows].join('\n')));
    }
  }
  return out;
}

export function renderReport(r: Report, opts: { host?: string } = {}): string {
  const out: string[] = [];
  const host = opts.host ?? flakeHost(r.flake);
  const firstStep = r.steps.find((s) => s.status === 'fail');
  const firstCheck = r.checks.find((c) => c.status === 'fail');
  const why = r.error?.message ?? r.unfinished ?? (firstStep ? `${firstStep.id}: ${firstStep.problems?.[0] ?? firstStep.title}` : firstCheck ? `${firstCheck.id}: ${firstCheck.summary}` : '');
  out.push(`${r.result === 'pass' ? '✅' : '❌'} **nixos-rehearse: ${r.result.toUpperCase()}** for \`${cell(host)}\` (layout ${cell(r.layout)}, ${cell(r.accel)}, ${secs(r.durationMs)})${why ? ` — ${cell(why)}` : ''}`);
  // The runbook's own words first: what was seen, why, what to do.
  // A red run made on purpose says so before anything else can be misread.
  if (r.fault) out.push('', `> **Fault injected on purpose:** ${code(r.fault.id)}: ${cell(r.fault.what)}`);
  for (const d of r.diagnosis ?? []) {
    out.push('', `> **Diagnosis** (${code(d.id)}${d.runbook ? `, ${cell(d.runbook)}` : ''}): Symptom: ${cell(d.symptom)} → Root cause: ${cell(d.cause)} → Fix: ${cell(d.fix)}`);
  }
  if (firstStep?.decision) out.push('', `> **Runbook Task ${firstStep.task}:** ${cell(firstStep.decision)}`);

  if (r.phases.length) {
    out.push('', '```mermaid', 'gantt', '  title Rehearsal timeline (seconds)', '  dateFormat X', '  axisFormat %s');
    let t = 0;
    for (const p of r.phases) {
      const d = Math.max(1, Math.round(p.durationMs / 1000));
      out.push(`  ${p.id.replace(/[^\w-]/g, '')} :${p.status === 'fail' ? 'crit' : 'done'}, ${t}, ${t + d}`);
      t += d;
    }
    out.push('```');
  }

  if (r.steps.length) {
    out.push('', '| Task | Step | Status | Time |', '| --- | --- | --- | --- |');
    for (const s of r.steps) out.push(`| ${s.task || ''} | ${cell(s.title)} | ${mark(s.status)} | ${s.status === 'skipped' ? '' : secs(s.durationMs)} |`);
  }
  if (r.checks.length) {
    const on = r.checks.some((c) => c.system);
    out.push('', `| Check |${on ? ' On |' : ''} Status | Result |`, `| --- |${on ? ' --- |' : ''} --- | --- |`);
    for (const c of r.checks) out.push(`| \`${cell(c.id)}\` |${on ? ` ${cell(c.system ?? '')} |` : ''} ${mark(c.status)} | ${cell(c.summary)} |`);
  }
  if (r.changes) out.push('', ...changesSection(r));
  if (r.lockChanges?.length) out.push('', ...lockTable(r.lockChanges));
  if (r.oom) {
    out.push('', `**The guest ran out of memory** (${r.oom.memoryMiB} MiB): the kernel's OOM killer ended ${r.oom.lines.length === 1 ? 'a process' : `${r.oom.lines.length} processes`}.`, '', details('OOM killer (serial console)', fence(r.oom.lines.join('\n'))));
  }
  if (r.stage) {
    out.push('', `**The guest stopped answering.** Boot stage reached: ${cell(r.stage.reached)}${r.stage.evidence ? ` (${cell(r.stage.evidence)})` : ''}`);
    out.push('', details('Serial console (last lines)', fence(r.stage.serialTail || '(nothing on the serial console)')));
  }

  const evidence = (id: string) => r.checks.find((c) => c.id === id)?.evidence;
  for (const [id, title] of [['generations', 'Generations'], ['boot-entries', 'Boot entries'], ['pool-health', 'Pool status']] as const) {
    const e = evidence(id);
    if (e) out.push('', details(title, fence(e)));
  }
  if (r.injected.length) {
    out.push('', details('What the rehearsal added to the configuration (harness module)', r.injected.map((i) => `- \`${cell(i.file)}\`: ${i.settings.map(cell).join('; ')}`).join('\n')));
  }
  for (const s of r.steps.filter((x) => x.status === 'fail')) {
    out.push('', details(`Output of ${s.id} (last lines)`, `${fence(`$ ${s.command.split('\n').join('\n$ ')}`, 'sh')}\n\n${fence(s.outputTail)}`));
  }
  for (const c of r.checks.filter((x) => x.status === 'fail')) out.push('', details(`Evidence for ${c.id}`, fence(c.evidence)));
  // The fast diagnosis playbook, run in the guest after the failure.
  for (const p of r.playbook ?? []) {
    out.push('', details(`Diagnosis playbook: ${p.title} (exit ${p.exitCode})`, `${fence(`$ ${p.command.split('\n').join('\n$ ')}`, 'sh')}\n\n${fence(p.output || '(no output)')}`));
  }
  return `${out.join('\n')}\n`;
}

/**
 * renderReport, or when it throws (a report shaped in a way nothing foresaw), a short report that
 * still carries the verdict: publishing the result (summary, comment, outputs, artifact) must
 * never fail on the rendering. `error` says what went wrong, for a warning.
 */
export function renderReportSafely(r: Report, opts: { host?: string } = {}): { markdown: string; error?: string } {
  try {
    return { markdown: renderReport(r, opts) };
  } catch (e) {
    const host = opts.host ?? flakeHost(String(r.flake ?? ''));
    const result = r.result === 'pass' ? 'pass' : 'fail';
    const error = `the report could not be rendered: ${(e as Error).message}`;
    return {
      markdown: `${result === 'pass' ? '✅' : '❌'} **nixos-rehearse: ${result.toUpperCase()}** for \`${cell(host)}\`\n\n${cell(error)}. report.json is in the run's artifact.\n`,
      error,
    };
  }
}
