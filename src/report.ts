// report.json: what a rehearsal did, step by step, as the action, the CLI and the PR comment
// read it. Pure types and helpers; writing the file is the runner's job.

import type { RunError } from './errors.js';
import type { ClosureDiff, UnitChanges } from './upgrade/changes.js';
import type { Check } from './verify/checks.js';

export type Status = 'pass' | 'fail' | 'skipped';

export interface PhaseResult {
  id: string;
  title: string;
  status: Status;
  durationMs: number;
}

export interface StepResult {
  id: string;
  /** The runbook Task number (0 for steps that are not a Task: preparing the flake, powering off). */
  task: number;
  title: string;
  status: Status;
  durationMs: number;
  /** The commands, one per line, as they ran in the guest. */
  command: string;
  /** The last lines of their output. */
  outputTail: string;
  /** What went wrong and, from the runbook, what to do. */
  problems?: string[];
  /** The error that stopped the step, as data (its kind and fields), when one did. */
  error?: RunError;
  decision?: string;
}

export interface Injected {
  /** Path of the file in the guest and its content. */
  file: string;
  content: string;
  /** One line per setting, for people. */
  settings: string[];
}

/**
 * A diagnosis in the runbook's own terms ("Common mistakes: symptom → root cause → fix", the
 * fast diagnosis playbook): what was seen, why, and what to do. `id` is stable (tests and
 * users match on it), e.g. `esp-not-mounted`, `pool-degraded`, `ssh-dead-after-reboot`.
 */
export interface Diagnosis {
  id: string;
  symptom: string;
  cause: string;
  fix: string;
  /** The runbook section it comes from, e.g. `Common mistakes 1` or `Fast diagnosis playbook: storage`. */
  runbook?: string;
}

/** One output of the fast diagnosis playbook, run in the guest after a failure. */
export interface PlaybookOutput {
  id: string;
  title: string;
  command: string;
  exitCode: number;
  output: string;
}

/** A flake input whose locked revision differs between the base branch and this change. */
export interface LockChange {
  input: string;
  change: 'updated' | 'added' | 'removed';
  old?: { rev?: string; lastModified?: number; url?: string };
  new?: { rev?: string; lastModified?: number; url?: string };
}

/** What the upgrade changed (issue #16): the closure, the units the switch touched, whether a reboot is needed. */
export interface UpgradeChanges {
  /** The generation before the switch and the one built, as store paths. */
  from: string;
  to: string;
  closure?: ClosureDiff;
  units?: UnitChanges;
  reboot?: { needed: boolean; because: string[] };
}

export interface Report {
  /** 2: `error` (and a step's `error`) is a RunError object; 1 had a string. */
  schema: 2;
  result: 'pass' | 'fail';
  accel: string;
  /** restoredFrom: the saved installer (installer-state.ts) restored instead of booting the ISO. */
  iso: { path: string; sha256?: string; volumeId?: string; bootEntry?: string; restoredFrom?: string };
  /**
   * How fast this machine ran guests: under TCG the speed probe against its reference (factor 2
   * = twice as slow), and the factor every wait was scaled by.
   */
  speed?: { factor?: number; probeMs?: number; referenceMs?: number; timeoutScale: number };
  /** The run started from an installed system kept by an earlier run (no installer, no install). */
  installedFrom?: string;
  flake: string;
  layout: string;
  /** Which install path ran: `flake` (nixos-install --flake in the VM) or `system` (a closure built on the host). */
  installPath: 'flake' | 'system';
  injected: Injected[];
  phases: PhaseResult[];
  steps: StepResult[];
  /** Post-boot checks (Tasks 13–18, rebuild, rollback), each with its evidence. */
  checks: Check[];
  /** Set when the run stopped on an error outside a step (bad input, QEMU died): its kind, message and fields. */
  error?: RunError;
  /** Why it failed, in the runbook's terms; empty or absent when it passed. */
  diagnosis?: Diagnosis[];
  /** The fast diagnosis playbook's outputs, when a failure left the guest answering. */
  playbook?: PlaybookOutput[];
  /** When the guest stopped answering: the boot stage reached and the serial log's last lines. */
  stage?: { reached: string; evidence: string; serialTail: string };
  /** The kernel's OOM killer ended a process in a guest (its lines from the serial consoles). */
  oom?: { memoryMiB: number; lines: string[] };
  /** The phase whose per-phase time limit fired, if one did. */
  timedOutPhase?: string;
  /** A fault injected on purpose (nixos-rehearse run --inject-fault), so that no report hides one. */
  fault?: { id: string; what: string };
  /** What the VMs could reach (RehearsalOptions.network). */
  network?: 'internet' | 'none';
  /** With `internet`: what --network-allow let through besides public addresses (each request is in logs/egress.log). */
  networkAllow?: string[];
  /**
   * `install` (default): the configuration is installed from scratch, then rebuilt to a known
   * change. `upgrade`: the base configuration is installed (or taken from the cache) and
   * upgraded to the configuration under test the runbook's safe way.
   */
  mode?: 'install' | 'upgrade';
  /** In upgrade mode: the base configuration (`<dir>#<host>`) the upgrade starts from. */
  base?: { flake: string; toplevel?: string; cachedFrom?: string; cacheFallback?: string };
  /** What the rebuild (install mode) or the upgrade changed. */
  changes?: UpgradeChanges;
  /** flake.lock inputs changed against the base branch (pull requests). */
  lockChanges?: LockChange[];
  startedAt: string;
  durationMs: number;
  logs: { dir: string };
  /**
   * Present while the run goes on: report.json is written when the run starts, so a run killed
   * outright (SIGKILL, the machine gone) still leaves one, saying it never finished.
   */
  unfinished?: string;
}

export const OUTPUT_TAIL_LINES = 40;

export function tail(text: string, lines = OUTPUT_TAIL_LINES): string {
  const all = text.replace(/\s+$/, '').split('\n');
  return all.slice(-lines).join('\n');
}

/** One progress line per step, e.g. `  ✓ task-06-root-filesystem  Create the ZFS pool …  12.3s`. */
export function progressLine(s: Pick<StepResult, 'id' | 'title' | 'status' | 'durationMs'>): string {
  const mark = s.status === 'pass' ? '✓' : s.status === 'fail' ? '✗' : '-';
  return `  ${mark} ${s.id.padEnd(26)} ${s.title.length > 60 ? `${s.title.slice(0, 57)}...` : s.title.padEnd(60)} ${(s.durationMs / 1000).toFixed(1).padStart(6)}s`;
}
