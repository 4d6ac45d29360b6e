// `run` and `demo`: the flags checked, the rehearsal run with the terminal reporter on stderr,
// report.json on stdout with --json, and the exit code (exit-codes.ts).
import { readFileSync } from 'node:fs';
import { type Fault, type RehearsalOptions, type RehearsalResult, runRehearsal } from '../rehearsal.js';
import { LIMITS, diskSize, wholeNumber } from '../limits.js';
import { terminalReporter } from '../reporters/terminal.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { hostNotReady, inputProblem } from './host.js';

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

/** Runs a rehearsal for the CLI; returns the exit code. */
export async function rehearse(o: RunFlags, stream: NodeJS.WriteStream = process.stderr): Promise<number> {
  const opts = rehearsalOptions(o);
  // The recorder tells the reporter everything, from the report's path to the verdict.
  const result = await runRehearsal({ ...opts, reporters: [terminalReporter({ stream })] });
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

