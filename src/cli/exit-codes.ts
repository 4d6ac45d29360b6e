// The CLI's exit codes, one pure mapping from what went wrong (errors as data: src/errors.ts).
import { CommanderError } from 'commander';
import { kindOf } from '../errors.js';
import { LimitError } from '../limits.js';

/** 0 the rehearsal passed; 1 it was red; 2 a usage or input error; 3 the host is not ready. */
export const EXIT = { pass: 0, red: 1, usage: 2, hostNotReady: 3 } as const;

/**
 * The exit code for a thrown value (or report.error once it carries its kind): 2 for a usage or
 * input error (commander's own, a bad setting, a flake without that host), 3 for a host that
 * lacks QEMU, qemu-img, OVMF or another tool, 1 for anything else (a red rehearsal).
 */
export function exitCodeFor(e: unknown): 1 | 2 | 3 {
  if (e instanceof CommanderError) return EXIT.usage;
  // LimitError's kind was 'invalid-setting' before errors.ts named it 'input': both are input.
  if (e instanceof LimitError || (e as { kind?: unknown } | null)?.kind === 'invalid-setting') return EXIT.usage;
  const kind = kindOf(e);
  if (kind === 'input' || kind === 'unknown-flake-host') return EXIT.usage;
  if (kind === 'host-not-ready') return EXIT.hostNotReady;
  return EXIT.red;
}

/** What `--help` says about the exit codes. */
export const EXIT_CODES_HELP = `Exit codes:
  0  the rehearsal passed (doctor: the host is ready)
  1  the rehearsal was red: report.json says why (report.diagnosis)
  2  a usage or input error: an unknown option, a bad value, a flake or host that is not there
  3  the host is not ready: QEMU, qemu-img, OVMF or ssh-keygen missing (run nixos-rehearse doctor)`;
