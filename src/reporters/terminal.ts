// The terminal reporter: a rehearsal drawn for a person on stderr. On a TTY one live line is
// redrawn while a phase or step runs (its elapsed time and the guest's last serial line) and
// replaced by the step's result line; elsewhere (a CI log, a pipe) nothing is redrawn and a
// heartbeat line says every 30 s what is still running. Colour only on a TTY and never with
// NO_COLOR (https://no-color.org). Pure but for its stream and its timers (unref'd, cleared at runEnd).
import stripAnsi from 'strip-ansi';
import type { Reporter, RunProbe } from '../reporter.js';
import { type Report, type StepResult, progressLine } from '../report.js';

export interface TerminalStream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface TerminalOptions {
  /** Where it writes (default process.stderr). */
  stream?: TerminalStream;
  /** Draw a live line (default stream.isTTY). */
  isTTY?: boolean;
  /** Colour the marks (default useColor(isTTY, process.env)). */
  color?: boolean;
  now?: () => number;
  /** Without a TTY: a heartbeat line after this long without output (default 30 s). */
  heartbeatMs?: number;
  /** How often the live line is redrawn and the heartbeat considered (default 1 s). */
  tickMs?: number;
}

/** Colour only on a TTY, never with NO_COLOR set to anything non-empty, nor FORCE_COLOR=0. */
export function useColor(isTTY: boolean | undefined, env: NodeJS.ProcessEnv = process.env): boolean {
  return !!isTTY && !env.NO_COLOR && env.FORCE_COLOR !== '0';
}

/** 45s, 2m30s, 1h02m. */
export function elapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** A guest's line made safe for one terminal line: no escapes, no control characters, at most `width` characters. */
export function oneLine(text: string, width: number): string {
  // eslint-disable-next-line no-control-regex
  const clean = stripAnsi(text).replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ').trim();
  const chars = Array.from(clean);
  if (width <= 0) return '';
  return chars.length > width ? `${chars.slice(0, Math.max(0, width - 1)).join('')}…` : clean;
}

const paint = (on: boolean, code: number, s: string) => (on ? `\x1b[${code}m${s}\x1b[0m` : s);
/** `\r` and erase the line: where the live line was. */
export const CLEAR_LINE = '\r\x1b[2K';

interface Activity {
  label: string;
  since: number;
}

/** The live line and the heartbeat: what runs now (a step within a phase), drawn on `stream`. */
function liveScreen(stream: TerminalStream, tty: boolean, now: () => number, heartbeatMs: number, tickMs: number) {
  let probe: RunProbe | undefined;
  let phase: Activity | undefined;
  let step: Activity | undefined;
  let live = false;
  let lastOutput = now();
  let timer: NodeJS.Timeout | undefined;

  const serial = () => {
    try {
      return probe?.lastSerialLine();
    } catch {
      return undefined;
    }
  };
  const current = () => step ?? phase;
  const clear = () => {
    if (live) stream.write(CLEAR_LINE);
    live = false;
  };
  const liveText = (a: Activity) => {
    const width = Math.max(20, (stream.columns || 80) - 1);
    const head = `  … ${oneLine(a.label, width - 12)} ${elapsed(now() - a.since)}`;
    const last = serial();
    const room = width - Array.from(head).length - 3;
    return last && room > 8 ? `${head} │ ${oneLine(last, room)}` : head;
  };
  const draw = () => {
    const a = current();
    if (!tty || !a) return;
    stream.write(`${CLEAR_LINE}${liveText(a)}`);
    live = true;
  };
  /** A line of its own: the live line goes, the line is written, the live line comes back. */
  const line = (text: string) => {
    clear();
    stream.write(`${text}\n`);
    lastOutput = now();
    draw();
  };
  const tick = () => {
    if (tty) return draw();
    const a = current();
    if (!a || now() - lastOutput < heartbeatMs) return;
    const last = serial();
    line(`  … still running ${a.label} (${elapsed(now() - a.since)})${last ? `: ${oneLine(last, 160)}` : ''}`);
  };
  return {
    line,
    setProbe: (p: RunProbe) => (probe = p),
    /** A phase (or, with `isStep`, a step) starts running, or (undefined) stops. */
    running(label: string | undefined, isStep = false) {
      const a = label === undefined ? undefined : { label, since: now() };
      if (isStep) step = a;
      else phase = step = a;
      if (!a) clear();
      draw();
      timer ??= setInterval(tick, tickMs);
      timer.unref?.();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      phase = step = undefined;
      clear();
    },
  };
}

export function terminalReporter(opts: TerminalOptions = {}): Reporter {
  const stream = opts.stream ?? process.stderr;
  const tty = opts.isTTY ?? !!stream.isTTY;
  const color = opts.color ?? useColor(tty, process.env);
  const screen = liveScreen(stream, tty, opts.now ?? Date.now, opts.heartbeatMs ?? 30_000, opts.tickMs ?? 1000);
  const { line } = screen;
  const mark = (s: string) => s.replace(/^(\s*)([✓✗])/, (_, sp: string, m: string) => sp + paint(color, m === '✓' ? 32 : 31, m));
  let startedFor: string | undefined;

  return {
    runStart(info, p) {
      screen.setProbe(p);
      // The CLI may announce the run before the engine does: once is enough.
      if (startedFor === info.reportPath) return;
      startedFor = info.reportPath;
      line(`nixos-rehearse: ${info.flake} (layout ${info.layout})`);
      line(`  report: ${info.reportPath}`);
      line(`  logs:   ${info.logDir}`);
    },
    phaseStart(p) {
      line(paint(color, 1, p.title));
      screen.running(p.title);
    },
    phaseEnd(p) {
      screen.running(undefined);
      if (p.status === 'fail') line(mark(`  ✗ ${p.title}: failed after ${elapsed(p.durationMs)}`));
    },
    stepStart(s) {
      screen.running(s.id, true);
    },
    stepEnd(s: StepResult) {
      screen.running(undefined, true);
      line(mark(progressLine(s)));
      if (s.status === 'fail') for (const problem of s.problems ?? []) line(`      ${problem}`);
    },
    check(c) {
      line(mark(`  ${c.status === 'pass' ? '✓' : '✗'} ${c.id.padEnd(26)} ${c.summary}`));
    },
    info(text) {
      line(mark(text));
    },
    warn(text) {
      line(`${paint(color, 33, 'warning:')} ${text}`);
    },
    runEnd(report: Report, reportPath: string) {
      screen.stop();
      runEndLines(report, reportPath, color).forEach((l) => stream.write(`${l}\n`));
    },
  };
}

/** The verdict, why (the first diagnoses, or the error), and where the report is. */
export function runEndLines(report: Report, reportPath: string, color = false): string[] {
  const pass = report.result === 'pass';
  const out = [`${paint(color, pass ? 32 : 31, pass ? 'PASS' : 'FAIL')} ${report.flake} (layout ${report.layout}) in ${elapsed(report.durationMs)}`];
  const diagnoses = (report.diagnosis ?? []).slice(0, 3);
  for (const d of diagnoses) out.push(`  ${d.symptom}`, `    cause: ${d.cause}`, `    fix:   ${d.fix}`);
  if ((report.diagnosis?.length ?? 0) > diagnoses.length) out.push(`  … and ${report.diagnosis!.length - diagnoses.length} more in the report`);
  const message = report.error?.message;
  if (!pass && message && !diagnoses.length) out.push(`  error: ${message.split('\n')[0]}`);
  out.push(`report: ${reportPath}`);
  return out;
}
