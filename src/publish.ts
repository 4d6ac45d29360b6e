// Publishing reports made elsewhere: the second half of the fork-safe split and the fleet comment.
// A pull request from a fork gets a read-only token, so its rehearsal uploads report.json as an
// artifact; a workflow_run workflow with a write token then publishes it. Nothing of the
// artifact is trusted: the pull request is found through the API from the workflow_run event
// (never a number the artifact names), the comment is rendered again from report.json by our
// renderer (never the artifact's Markdown), and only our own comments are edited. Several reports
// (a matrix over hosts and layouts) make one comment with a table. Pure, except readReports.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { HOST_NAME } from './limits.js';
import { cell, code, renderReportSafely } from './render.js';
import type { Report } from './report.js';

export class ReportShapeError extends Error {
  override name = 'ReportShapeError';
  readonly kind = 'report-shape';
  constructor(
    readonly file: string,
    readonly field: string,
  ) {
    super(`${file} is not a nixos-rehearse report: ${field}`);
  }
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStr = (v: unknown): v is string => typeof v === 'string';

/**
 * The fields the renderer reads, with their types; anything else the renderer meets is escaped
 * (render.ts), and a report it still cannot render falls back to its verdict (renderReportSafely).
 */
export function checkReport(json: unknown, file: string): Report {
  const bad = (field: string) => new ReportShapeError(file, field);
  if (!isObj(json)) throw bad('not an object');
  if (json.schema !== 1 && json.schema !== 2) throw bad('schema is neither 1 nor 2');
  if (json.result !== 'pass' && json.result !== 'fail') throw bad('result is neither pass nor fail');
  for (const f of ['flake', 'layout', 'accel', 'startedAt'] as const) if (!isStr(json[f])) throw bad(`${f} is not a string`);
  if (typeof json.durationMs !== 'number' || !Number.isFinite(json.durationMs) || json.durationMs < 0) throw bad('durationMs is not a duration');
  const host = String(json.flake).replace(/^.*#/, '');
  if (!HOST_NAME.test(host)) throw bad('the host in flake is not a Nix attribute name');
  const list = (name: string, fields: string[]) => {
    const v = json[name];
    if (v === undefined) return;
    if (!Array.isArray(v)) throw bad(`${name} is not a list`);
    for (const [i, x] of v.entries()) {
      if (!isObj(x)) throw bad(`${name}[${i}] is not an object`);
      for (const f of fields) if (!isStr(x[f])) throw bad(`${name}[${i}].${f} is not a string`);
    }
  };
  list('phases', ['id', 'title', 'status']);
  list('steps', ['id', 'title', 'status', 'command', 'outputTail']);
  list('checks', ['id', 'status', 'summary', 'evidence']);
  list('diagnosis', ['id', 'symptom', 'cause', 'fix']);
  list('injected', ['file']);
  for (const name of ['phases', 'steps', 'checks', 'injected']) if (!Array.isArray(json[name])) throw bad(`${name} is not a list`);
  // error: schema 2's RunError ({ kind, message, … }); schema 1 wrote the message alone, read as kind internal.
  if (json.error !== undefined) {
    if (json.schema === 1 && isStr(json.error)) return { ...json, schema: 2, error: { kind: 'internal', message: json.error } } as unknown as Report;
    if (!isObj(json.error) || !isStr(json.error.kind) || !isStr(json.error.message)) throw bad('error is not an object with a kind and a message');
  }
  return { ...json, schema: 2 } as unknown as Report;
}

export interface FoundReport {
  file: string;
  report: Report;
}

/** Every report.json under `dir` (downloaded artifacts, a folder each), checked; the ones that fail say why. */
export function readReports(dir: string): { reports: FoundReport[]; refused: string[] } {
  const reports: FoundReport[] = [];
  const refused: string[] = [];
  const walk = (d: string, depth: number) => {
    for (const name of readdirSync(d).sort()) {
      const p = path.join(d, name);
      const st = statSync(p);
      if (st.isDirectory() && depth < 3) walk(p, depth + 1);
      else if (name === 'report.json' && st.isFile()) {
        try {
          if (st.size > 16 * 1024 * 1024) throw new ReportShapeError(p, 'larger than 16 MiB');
          reports.push({ file: p, report: checkReport(JSON.parse(readFileSync(p, 'utf8')), p) });
        } catch (e) {
          refused.push(e instanceof SyntaxError ? `${p} is not JSON: ${e.message}` : (e as Error).message);
        }
      }
    }
  };
  walk(dir, 0);
  return { reports, refused };
}

const hostOf = (r: Report) => r.flake.replace(/^.*#/, '');
const secs = (ms: number) => `${Math.floor(ms / 60_000)}m ${String(Math.round((ms % 60_000) / 1000)).padStart(2, '0')}s`;

/**
 * The comment for reports published from a workflow_run: one report as the rehearsal itself
 * renders it; several as one table (host × layout: verdict, time, first diagnosis) with each
 * report collapsed under it. `conclusion` is the rehearsal run's own (GitHub's word): a report
 * claiming PASS from a run that did not succeed is flagged, not believed.
 */
export function renderPublished(reports: Report[], o: { conclusion?: string; runUrl?: string } = {}): string {
  const sorted = [...reports].sort((a, b) => hostOf(a).localeCompare(hostOf(b)) || a.layout.localeCompare(b.layout));
  const doubt = o.conclusion !== undefined && o.conclusion !== 'success' && sorted.some((r) => r.result === 'pass');
  const note = doubt ? [`> ⚠️ The rehearsal run ended with conclusion \`${cell(o.conclusion ?? '')}\`, yet a report below says PASS: trust the run${o.runUrl ? ` (${o.runUrl})` : ''}, not the report.`, ''] : [];
  if (sorted.length === 1) return `${note.join('\n')}${renderReportSafely(sorted[0]!).markdown}`;
  const passed = sorted.filter((r) => r.result === 'pass').length;
  const out = [
    `${passed === sorted.length ? '✅' : '❌'} **nixos-rehearse: ${passed} of ${sorted.length} passed** (hosts × layouts)`,
    '',
    ...note,
    '| Host | Layout | Result | Time | First diagnosis |',
    '| --- | --- | --- | --- | --- |',
    ...sorted.map((r) => `| ${code(hostOf(r))} | ${cell(r.layout)} | ${r.result === 'pass' ? '✅ pass' : '❌ fail'} | ${secs(r.durationMs)} | ${r.diagnosis?.[0] ? code(r.diagnosis[0].id) : ''} |`),
  ];
  for (const r of sorted) {
    out.push('', `<details><summary>${cell(hostOf(r))} (${cell(r.layout)}): ${r.result.toUpperCase()}</summary>`, '', renderReportSafely(r).markdown.trimEnd(), '', '</details>');
  }
  return `${out.join('\n')}\n`;
}

/** The marker key of a published comment: the host for one report, `fleet` for several. */
export const publishedKey = (reports: Report[]): string => (reports.length === 1 ? hostOf(reports[0]!) : 'fleet-of-hosts');

/** What a workflow_run event says about the run that made the reports (payload.workflow_run). */
export interface WorkflowRunInfo {
  id: number;
  event: string;
  conclusion?: string;
  headSha: string;
  headBranch: string;
  headRepo: string;
  headOwner: string;
  baseRepo: string;
  htmlUrl?: string;
}

/** Reads payload.workflow_run; every field checked (it is GitHub's, but the code takes no shape on trust). */
export function workflowRunInfo(payload: Record<string, unknown>): WorkflowRunInfo {
  const wr = payload.workflow_run;
  if (!isObj(wr)) throw new Error('publishing reports needs the workflow_run event (on: workflow_run), where GitHub names the run that made them');
  const hr = wr.head_repository;
  const repo = payload.repository;
  const s = (v: unknown, what: string) => {
    if (!isStr(v) || !v) throw new Error(`workflow_run event without ${what}`);
    return v;
  };
  if (typeof wr.id !== 'number') throw new Error('workflow_run event without id');
  return {
    id: wr.id,
    event: s(wr.event, 'event'),
    conclusion: isStr(wr.conclusion) ? wr.conclusion : undefined,
    headSha: s(wr.head_sha, 'head_sha'),
    headBranch: s(wr.head_branch, 'head_branch'),
    headRepo: s(isObj(hr) ? hr.full_name : undefined, 'head_repository.full_name'),
    headOwner: s(isObj(hr) && isObj(hr.owner) ? hr.owner.login : undefined, 'head_repository.owner.login'),
    baseRepo: s(isObj(repo) ? repo.full_name : undefined, 'repository.full_name'),
    htmlUrl: isStr(wr.html_url) ? wr.html_url : undefined,
  };
}
