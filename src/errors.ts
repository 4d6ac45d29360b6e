// Errors as data (execa's makeError, nixpkgs test-driver errors.py): every failure the engine
// raises on purpose carries a `kind` and structured fields; its message is derived from them for
// people. report.error is the record (errorRecord), and the diagnosis rules match kinds and
// fields, never message text. Pure.

/**
 * What went wrong, as the rules, the exit codes and the report read it.
 * - input: a bad argument, flake, layout, host name or setting (CLI exit 2)
 * - host-not-ready: a tool or file the host lacks: QEMU, qemu-img, OVMF, ssh-keygen, xorriso (exit 3)
 * - iso-checksum-mismatch / iso-download: the ISO is not the one asked for, or could not be fetched
 * - unknown-flake-host: the flake declares no such host (`dir`, `host`, `declared`)
 * - wrong-disk: the wrong-disk guard refused a disk it could not identify by its serial (nothing written)
 * - qemu-exited: QEMU went away (at start: its own message in `qemuSaid`)
 * - console-timeout: a wait on a console ran out (`console`, `waitingFor`, `seconds`, `serialTail`)
 * - console-closed: a console closed under a wait (QEMU exited?)
 * - protocol: a command answer the engine could not trust (a forged or corrupt frame)
 * - guest-gave-up: the installed system stopped at an emergency shell / gave up booting (`stage`)
 * - power-off-timeout: a guest did not power off or reboot in time
 * - phase-timeout: the per-phase limit fired (`phase`, `minutes`)
 * - interrupted: SIGINT/SIGTERM
 * - internal: anything else (a bug, or a failure with no kind yet)
 */
export type ErrorKind =
  | 'input'
  | 'host-not-ready'
  | 'iso-checksum-mismatch'
  | 'iso-download'
  | 'unknown-flake-host'
  | 'wrong-disk'
  | 'qemu-exited'
  | 'console-timeout'
  | 'console-closed'
  | 'protocol'
  | 'guest-gave-up'
  | 'power-off-timeout'
  | 'phase-timeout'
  | 'interrupted'
  | 'internal';

/** A field value: what JSON holds without surprises. */
export type Field = string | number | boolean | string[] | undefined;

/** report.error: the kind, the message for people, and the fields the message was made from. */
export interface RunError {
  kind: ErrorKind;
  message: string;
  /** The phase that was running, when the error ended one. */
  phase?: string;
  /** The step that was running. */
  step?: string;
  /** The serial console's last lines, when a guest was involved. */
  serialTail?: string;
  fields?: Record<string, Field>;
}

/** The engine's errors: a kind, fields, and a message made from them. */
export class RehearseError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    readonly fields: Record<string, Field> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RehearseError';
  }
}

/** The kind of any thrown value: its own; a program the host lacks (spawn ENOENT) is host-not-ready; else `internal`. */
export function kindOf(e: unknown): ErrorKind {
  const err = e as { kind?: unknown; code?: unknown; syscall?: unknown } | undefined;
  const k = err?.kind;
  if (typeof k === 'string' && KINDS.has(k as ErrorKind)) return k as ErrorKind;
  if (err?.code === 'ENOENT' && typeof err.syscall === 'string' && err.syscall.startsWith('spawn')) return 'host-not-ready';
  return 'internal';
}

const KINDS = new Set<ErrorKind>(['input', 'host-not-ready', 'iso-checksum-mismatch', 'iso-download', 'unknown-flake-host', 'wrong-disk', 'qemu-exited', 'console-timeout', 'console-closed', 'protocol', 'guest-gave-up', 'power-off-timeout', 'phase-timeout', 'interrupted', 'internal']);

/** The record report.error holds for a thrown value (message bounded; fields copied as data). */
export function errorRecord(e: unknown, where: { phase?: string; step?: string } = {}): RunError {
  const err = e as { message?: unknown; fields?: Record<string, Field>; serialTail?: unknown; tail?: unknown };
  const message = typeof err?.message === 'string' ? err.message : String(e);
  const rec: RunError = { kind: kindOf(e), message: message.length > 2000 ? `${message.slice(0, 1999)}…` : message };
  if (where.phase) rec.phase = where.phase;
  if (where.step) rec.step = where.step;
  const serial = typeof err?.serialTail === 'string' ? err.serialTail : typeof err?.fields?.serialTail === 'string' ? err.fields.serialTail : undefined;
  if (serial) rec.serialTail = serial;
  const fields = { ...(err?.fields ?? {}) };
  delete fields.serialTail;
  if (Object.keys(fields).length) rec.fields = fields;
  return rec;
}

/**
 * A guest did not power off (or reboot) in time. The serial console's last lines are its own
 * property, not part of the message: report.error.serialTail holds them.
 */
export class PowerOffTimeoutError extends RehearseError {
  constructor(
    readonly machine: string,
    readonly awaited: 'power-off' | 'reboot',
    readonly seconds: number,
    readonly serialTail: string,
  ) {
    super('power-off-timeout', awaited === 'reboot' ? `${machine}: no reboot within ${seconds}s` : `${machine} did not power off within ${seconds}s`, { machine, awaited, seconds });
    this.name = 'PowerOffTimeoutError';
  }
}

/** A bad argument, flake reference, layout or setting (CLI exit 2). */
export const inputError = (message: string, fields: Record<string, Field> = {}) => new RehearseError('input', message, fields);
/** A tool or file the host lacks (CLI exit 3). */
export const hostNotReady = (message: string, fields: Record<string, Field> = {}) => new RehearseError('host-not-ready', message, fields);

/**
 * A guest stopped at a point it waits at forever (a kernel panic, stage 1's fail(), emergency
 * mode): which system, the stage that gave up, and the line the console showed.
 */
export class GuestGaveUpError extends RehearseError {
  constructor(
    readonly system: 'installer' | 'installed system',
    readonly stage: string,
    readonly shown: string,
    readonly serialTail?: string,
  ) {
    super('guest-gave-up', system === 'installer' && stage === 'the kernel' ? `the installer kernel panicked: ${shown}` : `the ${system} did not come up: ${stage} gave up: ${shown}`, { system, stage, shown });
    this.name = 'GuestGaveUpError';
  }
}

/**
 * The serial console's last lines an error carries, for report.stage (how far the boot got):
 * none when they are a control console's own (command output says nothing about the boot),
 * unless a machine put its serial console's lines in their place.
 */
export function stageTail(e: unknown): string | undefined {
  const err = e as { serialTail?: unknown; tail?: unknown; fields?: Record<string, Field> } | undefined;
  if (typeof err?.serialTail !== 'string' || !err.serialTail) return undefined;
  const k = kindOf(e);
  const onControl = (k === 'console-timeout' || k === 'console-closed') && typeof err.fields?.console === 'string' && !err.fields.console.endsWith(' serial');
  return onControl && err.serialTail === err.tail ? undefined : err.serialTail;
}
