// What the diagnosis rules share: their input, the context they read, and the helpers that read
// the engine's errors (their kinds and fields: never their message text). Pure.
import type { RunError } from '../errors.js';
import type { Diagnosis, PlaybookOutput, StepResult } from '../report.js';
import type { Check } from '../verify/checks.js';

export type DiagnosisId =
  | 'forged-output'
  | 'iso-checksum-mismatch'
  | 'unknown-flake-host'
  | 'kernel-panic'
  | 'pool-not-imported'
  | 'root-not-mounted'
  | 'esp-not-mounted'
  | 'pool-degraded'
  | 'secret-in-store'
  | 'password-login-accepted'
  | 'vm-no-network'
  | 'zfs-host-id-missing'
  | 'nixos-evaluation-error'
  | 'guest-out-of-memory'
  | 'ssh-dead-after-reboot'
  | 'disk-filling'
  | 'rebuild-slow'
  | 'rebuild-failed'
  | 'rollback-failed'
  | 'failed-units'
  | 'boot-hang'
  | 'qemu-died'
  | 'step-failed'
  | 'check-failed'
  | 'phase-failed'
  | 'run-error';

export interface DiagnosisInput {
  result?: 'pass' | 'fail';
  steps?: Array<Pick<StepResult, 'id' | 'task' | 'status' | 'outputTail'> & Partial<Pick<StepResult, 'title' | 'problems' | 'decision' | 'error'>>>;
  checks?: Array<Pick<Check, 'id' | 'status' | 'summary' | 'evidence' | 'reason'>>;
  phases?: Array<{ id: string; title?: string; status: string }>;
  /** report.error: an error outside a step (bad input, QEMU died, a console timeout with its tail), as data. */
  error?: RunError;
  /** report.stage, or bootStage() of the serial log; `kernelPanic` when already extracted. */
  stage?: { reached: string; evidence?: string; serialTail?: string; kernelPanic?: string };
  /** The kernel's OOM-killer lines from every serial console of the run (report.oom). */
  oom?: { memoryMiB: number; lines: string[] };
  playbook?: PlaybookOutput[];
  /** The phase whose deadline ran out (e.g. `reboot`, `rebuild`), if one did. */
  timedOutPhase?: string;
}

export type Step = NonNullable<DiagnosisInput['steps']>[number];
export type CheckLike = NonNullable<DiagnosisInput['checks']>[number];

export interface Ctx {
  input: DiagnosisInput;
  failedSteps: Step[];
  failed: Map<string, CheckLike>;
  error: RunError | undefined;
  /** Serial text: report.stage's tail and evidence, and the console output report.error carries. */
  serial: string;
  reached?: string;
  play(id: string): PlaybookOutput | undefined;
  /** What earlier (more specific) rules already accounted for. */
  explained: ReadonlySet<string>;
}

/** What a rule found and which failures that accounts for (`step:<id>`, `check:<id>`, `error`, `timeout`, `phase:<id>`). */
export interface Found extends Omit<Diagnosis, 'id' | 'runbook'> {
  runbook?: string;
  explains: string[];
}

export interface Rule {
  id: DiagnosisId;
  find(c: Ctx): Found | undefined;
}

export const firstLine = (s: string) => s.trim().split('\n')[0] ?? '';
/** The line of an output that says what went wrong: an error line, else the last one. */
export const errorLine = (s: string) => {
  const lines = s.trim().split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.find((l) => /\berror\b|\bfailed\b|denied|not found|does not exist/i.test(l)) ?? lines[lines.length - 1] ?? '';
};
export const clip = (s: string, n = 300) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
export const seen = (symptom: string, here: string) => `${symptom} Seen here: ${here}`;

/**
 * The guest's own text an error carries: the console's last lines (serialTail) and, for a guest
 * that gave up, the line its console showed. Never the message: a timeout's message quotes the
 * regex it waited for (which names "stage 1 failed" and "Kernel panic" itself) and must not read
 * as the guest saying so.
 */
export function serialInError(error: RunError | undefined): string {
  if (!error) return '';
  const parts: string[] = [];
  if (error.serialTail) parts.push(error.serialTail);
  const f = error.fields ?? {};
  if (error.kind === 'guest-gave-up' && typeof f.shown === 'string') parts.push(`${f.stage ?? 'the boot'} gave up: ${f.shown}`);
  return parts.join('\n');
}

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

/** A timeout, and on what: the phase that ran out, or what the wait that ran out awaited (its fields). */
export function timeoutOf(c: Ctx): { phase?: string; waitingFor?: string } | undefined {
  const e = c.error;
  const f = e?.fields ?? {};
  const phase = c.input.timedOutPhase ?? (e?.kind === 'phase-timeout' ? str(f.phase) : undefined);
  const waitingFor = e?.kind === 'console-timeout' ? str(f.waitingFor) : e?.kind === 'power-off-timeout' ? `${str(f.machine) ?? 'the VM'} to power off or reboot` : undefined;
  if (!phase && !waitingFor && e?.kind !== 'console-timeout' && e?.kind !== 'power-off-timeout' && e?.kind !== 'phase-timeout') return undefined;
  return { phase, waitingFor };
}

/** The error's fields, read as strings (absent when not one). */
export const field = (e: RunError | undefined, name: string): string | undefined => str(e?.fields?.[name]);

export const BUILD_COMMAND = /nixos-rebuild|nixos-install|nix (?:--\S+ (?:'[^']*'|\S+) )*build/;
// The first: nixpkgs' systemd-boot builder runs its checkMountpoints script before anything
// else (nixos/modules/system/boot/loader/systemd-boot/systemd-boot.nix: `echo "$1 = '$2' is
// not a mounted partition. Is the path configured correctly?"`), and nixos-install stops there.
export const ESP_ERROR = /(?:efiSysMountPoint|xbootldrMountPoint) = '[^']*' is not a mounted partition\. Is the path configured correctly\?|is not a FAT EFI System Partition|is not the root of the (?:EFI System Partition \(ESP\) )?file system|Couldn'?t find EFI system partition|could not find any previously installed systemd-boot|bootctl[^\n]*returned non-zero exit status/i;
export const NO_SPACE = /No space left on device|out of space|disk quota exceeded/i;
