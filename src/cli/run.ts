// `run` and `demo`: the flags checked, the rehearsal run with the terminal reporter on stderr,
// report.json on stdout with --json, and the exit code (exit-codes.ts).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { type Fault, type RehearsalOptions, type RehearsalResult, runRehearsal } from '../rehearsal.js';
import { LIMITS, diskSize, wholeNumber } from '../limits.js';
import type { Reporter } from '../reporter.js';
import { terminalReporter } from '../reporters/terminal.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { hostNotReady, inputProblem } from './host.js';
import { serialLogProbe } from './serial-probe.js';

export interface RunFlags {
  iso: string;
  sha256?: string;
  flake: string;
  layout: string;
  diskSize: string;
  memory: string;
  cpus: string;
  accel: 'auto' | 'kvm' | 'tcg';
  out: string;
  keep?: boolean;
  rebuild: boolean;
  phaseTimeout?: string;
  injectFault?: Fault;
  reuseInstaller?: boolean;
  keepInstalled?: string;
  fromInstalled?: string;
  json?: boolean;
}

/** The flags as RehearsalOptions; a bad number or size throws a LimitError (exit 2). */
export function rehearsalOptions(o: RunFlags): RehearsalOptions {
  return {
    iso: o.iso,
    sha256: o.sha256,
    flake: o.flake,
    layout: o.layout,
    diskSize: diskSize('--disk-size', o.diskSize),
    memoryMiB: wholeNumber('--memory', o.memory, LIMITS.memoryMiB),
    cpus: wholeNumber('--cpus', o.cpus, LIMITS.cpus),
    accel: o.accel,
    outDir: o.out,
    keep: o.keep,
    rebuild: o.rebuild,
    phaseTimeoutMinutes: o.phaseTimeout === undefined ? undefined : wholeNumber('--phase-timeout', o.phaseTimeout, LIMITS.phaseTimeoutMinutes),
    fault: o.injectFault,
    reuseInstaller: o.reuseInstaller,
    saveInstalled: o.keepInstalled,
    installed: o.fromInstalled,
  };
}

/**
 * Until runRehearsal calls its reporters (the recorder), its `log` lines and phase events are
 * handed to the reporter here. Once the engine itself calls the reporter (runStart or any other
 * event through `engineSide`), these go quiet, so that nothing is said twice.
 */
export function bridge(r: Reporter): { engineSide: Reporter; log: (line: string) => void; events: NonNullable<RehearsalOptions['events']> } {
  let engineDrives = false;
  const engineSide: Reporter = {};
  for (const k of ['runStart', 'phaseStart', 'phaseEnd', 'stepStart', 'stepEnd', 'check', 'info', 'warn', 'runEnd'] as const) {
    (engineSide as Record<string, unknown>)[k] = (...args: unknown[]) => {
      engineDrives = true;
      return (r[k] as ((...a: unknown[]) => unknown) | undefined)?.apply(r, args);
    };
  }
  return {
    engineSide,
    // The engine's closing `PASS: report …` line: runEnd says it.
    log: (line) => !engineDrives && !/^(PASS|FAIL): report /.test(line) && r.info?.(line),
    events: {
      phaseStart: (id, title) => !engineDrives && r.phaseStart?.({ id, title }),
      phaseEnd: (p) => !engineDrives && r.phaseEnd?.(p),
    },
  };
}

/** Runs a rehearsal for the CLI; returns the exit code. */
export async function rehearse(o: RunFlags, stream: NodeJS.WriteStream = process.stderr): Promise<number> {
  const opts = rehearsalOptions(o);
  const reporter = terminalReporter({ stream });
  const outDir = path.resolve(o.out);
  const reportPath = path.join(outDir, 'report.json');
  reporter.runStart?.({ reportPath, logDir: path.join(outDir, 'logs'), flake: o.flake, layout: o.layout }, serialLogProbe(path.join(outDir, 'logs')));
  const b = bridge(reporter);
  const result = await runRehearsal({ ...opts, reporters: [b.engineSide], log: b.log, events: b.events });
  await reporter.runEnd?.(result.report, result.reportPath);
  if (o.json) process.stdout.write(readFileSync(result.reportPath, 'utf8'));
  const code = runExitCode(result, o);
  // An input error is already on screen (the engine's error line); the host's fix is not.
  const why = code === EXIT.hostNotReady ? hostNotReady() : undefined;
  if (why) stream.write(`nixos-rehearse: ${why.message}\n`);
  return code;
}

/**
 * A run's exit code: 0 when it passed; else the kind of its error (exitCodeFor) when report.error
 * carries one. Today's engine records the error as text: a run that stopped before its first
 * phase is then classified by the checks it failed (its inputs: 2; the host: 3).
 */
export function runExitCode(result: Pick<RehearsalResult, 'report'>, o: { layout: string; flake: string; iso: string }, env: NodeJS.ProcessEnv = process.env): number {
  const { report } = result;
  if (report.result === 'pass') return EXIT.pass;
  const err = report.error as unknown;
  if (err && typeof err === 'object' && 'kind' in err) return exitCodeFor(err);
  if (err === undefined || report.phases.length) return EXIT.red;
  return exitCodeFor(inputProblem(o) ?? hostNotReady(env));
}

