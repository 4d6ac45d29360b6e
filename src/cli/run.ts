// `run` and `demo`: the flags checked, the rehearsal run with the terminal reporter on stderr,
// report.json on stdout with --json, and the exit code (exit-codes.ts).
import { readFileSync } from 'node:fs';
import { type Fault, type RehearsalOptions, type RehearsalResult, runRehearsal } from '../rehearsal.js';
import { LIMITS, diskSize, wholeNumber } from '../limits.js';
import { terminalReporter } from '../reporters/terminal.js';
import { EXIT, exitCodeFor } from './exit-codes.js';

export interface RunFlags {
  iso: string;
  sha256?: string;
  flake: string;
  layout: string;
  diskSize: string;
  memory: string;
  cpus: string;
  accel: 'auto' | 'kvm' | 'tcg';
  network?: 'internet' | 'none';
  networkAllow?: string[];
  out: string;
  keep?: boolean;
  rebuild: boolean;
  phaseTimeout?: string;
  injectFault?: Fault;
  reuseInstaller?: boolean;
  keepInstalled?: string;
  fromInstalled?: string;
  upgradeFrom?: string;
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
    network: o.network,
    networkAllow: o.networkAllow,
    outDir: o.out,
    keep: o.keep,
    rebuild: o.rebuild,
    phaseTimeoutMinutes: o.phaseTimeout === undefined ? undefined : wholeNumber('--phase-timeout', o.phaseTimeout, LIMITS.phaseTimeoutMinutes),
    fault: o.injectFault,
    reuseInstaller: o.reuseInstaller,
    saveInstalled: o.keepInstalled,
    installed: o.fromInstalled,
    upgradeFrom: o.upgradeFrom,
  };
}

/** Runs a rehearsal for the CLI; returns the exit code. */
export async function rehearse(o: RunFlags, stream: NodeJS.WriteStream = process.stderr): Promise<number> {
  const opts = rehearsalOptions(o);
  // The recorder tells the reporter everything, from the report's path to the verdict.
  const result = await runRehearsal({ ...opts, reporters: [terminalReporter({ stream })] });
  if (o.json) process.stdout.write(readFileSync(result.reportPath, 'utf8'));
  // The error, with what to do (an input to fix, a tool to install), is already on screen.
  return runExitCode(result);
}

/**
 * A run's exit code: 0 when it passed; else the kind of report.error (exitCodeFor: an input 2, the
 * host 3); a red rehearsal with no error (a step or check failed) 1.
 */
export function runExitCode(result: Pick<RehearsalResult, 'report'>): number {
  const { report } = result;
  if (report.result === 'pass') return EXIT.pass;
  return report.error ? exitCodeFor(report.error) : EXIT.red;
}

