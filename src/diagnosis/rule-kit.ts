// What the diagnosis rules share: their input, the context they read, and the helpers that read
// the engine's messages. Pure.
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
  steps?: Array<Pick<StepResult, 'id' | 'task' | 'status' | 'outputTail'> & Partial<Pick<StepResult, 'title' | 'problems' | 'decision'>>>;
  checks?: Array<Pick<Check, 'id' | 'status' | 'summary' | 'evidence'>>;
  phases?: Array<{ id: string; title?: string; status: string }>;
  /** report.error: an error outside a step (bad input, QEMU died, a console timeout with its tail). */
  error?: string;
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
  error: string;
  /** Serial text: report.stage's tail and evidence, and the console tail inside report.error. */
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
 * The serial text inside an error: a console timeout carries "--- last console output ---",
 * Machine's waits "--- serial ---", and verify's "did not come up: <what the console showed>".
 * Only those parts: the first line of a timeout quotes the regex it waited for (which names
 * "stage 1 failed" and "Kernel panic" itself) and must not read as the guest saying so.
 */
export function serialInError(error: string): string {
  const parts: string[] = [];
  const tail = /^--- (?:last console output|serial) ---$/m.exec(error);
  if (tail) parts.push(error.slice(tail.index + tail[0].length));
  const came = /did not come up: ([^\n]*)/.exec(error);
  if (came) parts.push(came[1]!);
  return parts.join('\n');
}

/** A timeout, and on what: the phase given, or the error's own words. */
export function timeoutOf(c: Ctx): { phase?: string; waitingFor?: string } | undefined {
  const m = /timed out after [\d.]+s on (\S+) (serial|control) waiting for ([^\n]*)|(\S+):? (?:did not power off within|no reboot within) /.exec(c.error);
  if (!c.input.timedOutPhase && !m) return undefined;
  return { phase: c.input.timedOutPhase, waitingFor: m?.[3] ?? (m?.[4] ? `${m[4]} to power off or reboot` : undefined) };
}

export const BUILD_COMMAND = /nixos-rebuild|nixos-install|nix (?:--\S+ (?:'[^']*'|\S+) )*build/;
// The first: nixpkgs' systemd-boot builder runs its checkMountpoints script before anything
// else (nixos/modules/system/boot/loader/systemd-boot/systemd-boot.nix: `echo "$1 = '$2' is
// not a mounted partition. Is the path configured correctly?"`), and nixos-install stops there.
export const ESP_ERROR = /(?:efiSysMountPoint|xbootldrMountPoint) = '[^']*' is not a mounted partition\. Is the path configured correctly\?|is not a FAT EFI System Partition|is not the root of the (?:EFI System Partition \(ESP\) )?file system|Couldn'?t find EFI system partition|could not find any previously installed systemd-boot|bootctl[^\n]*returned non-zero exit status/i;
export const PROTOCOL_ERROR = /command output frame is corrupt|bad exit code .* in command frame|ProtocolError/;
export const NO_SPACE = /No space left on device|out of space|disk quota exceeded/i;
