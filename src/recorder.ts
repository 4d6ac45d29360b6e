// The one owner of report.json (issue #14): every change to the report goes through here —
// phase start and end, step, check, playbook, error, verdict — and each is told to the
// reporters (reporter.ts) and written to disk at once, so that a run killed at any moment
// leaves the report of what it had done. Phases, checks and the pipeline never touch the
// report object themselves.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bootStage, oomKills } from './diagnosis/boot-stage.js';
import { diagnose } from './diagnosis/rules.js';
import { renderReportSafely } from './render.js';
import type { Reporter } from './reporter.js';
import { fanOut } from './reporter.js';
import type { PhaseResult, PlaybookOutput, Report, StepResult } from './report.js';
import type { Check } from './verify/checks.js';
import { errorRecord } from './errors.js';

export interface RecorderPaths {
  outDir: string;
  logDir: string;
  reportPath: string;
}

type Fan = ReturnType<typeof fanOut>;

export class Recorder {
  readonly report: Report;
  private readonly started = Date.now();
  private readonly out: Fan;

  constructor(
    readonly paths: RecorderPaths,
    init: Pick<Report, 'iso' | 'flake' | 'layout'> & Partial<Pick<Report, 'lockChanges'>>,
    reporters: Reporter[],
  ) {
    this.out = fanOut(reporters);
    this.report = {
      schema: 2,
      result: 'fail',
      accel: 'unknown',
      iso: init.iso,
      flake: init.flake,
      layout: init.layout,
      installPath: 'flake',
      injected: [],
      phases: [],
      steps: [],
      checks: [],
      startedAt: new Date(this.started).toISOString(),
      durationMs: 0,
      logs: { dir: paths.logDir },
      ...(init.lockChanges ? { lockChanges: init.lockChanges } : {}),
      unfinished: 'the run had not finished when this was written: it is still running, or it was killed',
    };
  }

  /** report.json and report.md, now. A rendering problem never costs report.json (renderReportSafely). */
  write(): void {
    this.report.durationMs = Date.now() - this.started;
    writeFileSync(this.paths.reportPath, `${JSON.stringify(this.report, null, 2)}\n`);
    writeFileSync(path.join(this.paths.outDir, 'report.md'), renderReportSafely(this.report).markdown);
  }

  start(probe: Parameters<NonNullable<Reporter['runStart']>>[1]): void {
    this.write();
    this.out.runStart({ reportPath: this.paths.reportPath, logDir: this.paths.logDir, flake: this.report.flake, layout: this.report.layout }, probe);
  }

  info(line: string): void {
    this.out.info(line);
  }

  warn(line: string): void {
    this.out.warn(line);
  }

  /** Facts about the run as a whole (the ISO, the accelerator, the fault, where it started from). */
  set(facts: Partial<Pick<Report, 'iso' | 'accel' | 'speed' | 'fault' | 'installedFrom' | 'injected' | 'timedOutPhase' | 'mode' | 'base' | 'changes' | 'network' | 'networkAllow'>>): void {
    Object.assign(this.report, facts);
    this.write();
  }

  phaseStart(id: string, title: string): PhaseResult {
    const p: PhaseResult = { id, title, status: 'fail', durationMs: 0 };
    this.report.phases.push(p);
    this.out.phaseStart({ id, title });
    return p;
  }

  phaseEnd(p: PhaseResult, passed: boolean, startedMs: number): void {
    p.status = passed ? 'pass' : 'fail';
    p.durationMs = Date.now() - startedMs;
    this.write();
    this.out.phaseEnd(p);
  }

  stepStart(s: Pick<StepResult, 'id' | 'task' | 'title'>, command: string): StepResult {
    const r: StepResult = { id: s.id, task: s.task, title: s.title, status: 'fail', durationMs: 0, command, outputTail: '' };
    this.report.steps.push(r);
    this.out.stepStart({ id: s.id, task: s.task, title: s.title });
    return r;
  }

  /** A step's end: pass without problems, else fail with them and the runbook's decision. */
  stepEnd(r: StepResult, o: { problems: string[]; outputTail: string; startedMs: number; decision: string }): boolean {
    r.outputTail = o.outputTail;
    r.durationMs = Date.now() - o.startedMs;
    r.status = o.problems.length ? 'fail' : 'pass';
    if (r.status === 'fail') {
      r.problems = o.problems;
      r.decision = o.decision;
    }
    this.write();
    this.out.stepEnd(r);
    return r.status === 'pass';
  }

  /** Steps that never ran because an earlier one failed. */
  skipSteps(steps: ReadonlyArray<Pick<StepResult, 'id' | 'task' | 'title'>>): void {
    for (const s of steps) this.report.steps.push({ id: s.id, task: s.task, title: s.title, status: 'skipped', durationMs: 0, command: '', outputTail: '' });
    this.write();
  }

  check(c: Check): void {
    this.report.checks.push(c);
    this.out.check(c);
  }

  /** Whether every check with this id prefix (or all, without one) passed. */
  checksPassed(prefix = ''): boolean {
    return this.report.checks.filter((c) => c.id.startsWith(prefix)).every((c) => c.status === 'pass');
  }

  get anyCheckFailed(): boolean {
    return this.report.checks.some((c) => c.status === 'fail');
  }

  get installStepsPassed(): boolean {
    return this.report.steps.every((s) => s.status === 'pass');
  }

  playbook(outs: PlaybookOutput[]): void {
    this.report.playbook = outs;
    this.write();
  }

  /** How far a guest's boot got, from its serial console's last lines (kept with them). */
  stage(serialTail: string, o: { ifUnset?: boolean } = {}): void {
    if (o.ifUnset && this.report.stage) return;
    this.report.stage = { ...bootStage(serialTail), serialTail };
  }

  /** The run's error, as data (errors.ts): the first one wins (after a signal, "interrupted" stays the reason). */
  error(e: unknown, where: { phase?: string } = {}): void {
    this.report.error ??= errorRecord(e, where);
    this.out.info(`error: ${this.report.error.message}`);
  }

  get hasError(): boolean {
    return !!this.report.error;
  }

  /** The verdict, the out-of-memory lines of every serial console, and on a failure the diagnosis. */
  conclude(memoryMiB: number): boolean {
    const report = this.report;
    delete report.unfinished;
    const oom = this.oomLines();
    if (oom.length) report.oom = { memoryMiB, lines: oom };
    const ok = !report.error && report.phases.length > 0 && report.phases.every((p) => p.status === 'pass') && this.installStepsPassed && this.checksPassed();
    report.result = ok ? 'pass' : 'fail';
    try {
      report.diagnosis = ok ? [] : diagnose(report);
    } catch (e) {
      // A diagnosis rule must never cost the report.
      report.diagnosis = [{ id: 'run-error', symptom: report.error?.message ?? 'the rehearsal failed', cause: `the diagnosis could not be made: ${(e as Error).message}`, fix: 'Read the failing step or check and the serial logs.' }];
    }
    this.write();
    return ok;
  }

  async end(): Promise<void> {
    await this.out.runEnd(this.report, this.paths.reportPath);
  }

  /** The OOM killer's lines from every serial log; an unreadable log costs only its lines. */
  private oomLines(): string[] {
    try {
      return readdirSync(this.paths.logDir)
        .filter((f) => /^serial-.*\.log$/.test(f))
        .flatMap((f) => oomKills(readFileSync(path.join(this.paths.logDir, f), 'utf8')));
    } catch {
      return [];
    }
  }
}
