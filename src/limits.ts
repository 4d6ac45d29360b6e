// The numbers and names a user hands the engine, checked once with their ranges, for the CLI and
// the action alike. Each refusal is a LimitError carrying the setting, the value and the range
// (the message is made from them) and says what to pass instead.
import { RehearseError } from './errors.js';

export interface Range {
  min: number;
  max: number;
  unit: string;
}

/**
 * Guest memory: below 1 GiB the NixOS installer does not boot; QEMU takes more than the host has
 * without complaint and the host starts swapping, so the ceiling is a sane machine's.
 * CPUs: QEMU's q35 machine type takes up to 288, no rehearsal needs more than 64.
 * Phase limit: a whole day at most; JavaScript timers overflow past 2^31 ms (24.8 days) and then
 * fire at once.
 */
export const LIMITS = {
  memoryMiB: { min: 1024, max: 262_144, unit: 'MiB' },
  cpus: { min: 1, max: 64, unit: 'CPUs' },
  phaseTimeoutMinutes: { min: 1, max: 1440, unit: 'minutes' },
  diskGiB: { min: 4, max: 2048, unit: 'GiB' },
} satisfies Record<string, Range>;

/**
 * Each phase's limit when none is given, in minutes of wall time: longer than any phase takes
 * under TCG on a slow day (install ~5 min), short enough that a hung VM ends the run long before
 * a CI job's own limit. `--phase-timeout` / `phase-timeout-minutes` replace it.
 */
export const DEFAULT_PHASE_TIMEOUT_MINUTES = 60;

/** A setting out of its range (kind input; fields setting, value, expected). */
export class LimitError extends RehearseError {
  override name = 'LimitError';
  constructor(
    readonly setting: string,
    readonly value: string,
    readonly expected: string,
  ) {
    super('input', `${setting} must be ${expected} (got '${value}')`, { setting, value, expected });
  }
}

/** A whole number within `range`; `raw` as the user typed it. */
export function wholeNumber(setting: string, raw: string, range: Range): number {
  const v = raw.trim();
  const n = /^\d+$/.test(v) ? Number(v) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < range.min || n > range.max) throw new LimitError(setting, raw, `a whole number of ${range.unit} from ${range.min} to ${range.max}`);
  return n;
}

/** A disk size as qemu-img takes it (`20G`, `512M`, `1T`), within LIMITS.diskGiB. */
export function diskSize(setting: string, raw: string): string {
  const v = raw.trim();
  const m = /^(\d+)([MGT])$/.exec(v);
  const gib = m ? Number(m[1]) * { M: 1 / 1024, G: 1, T: 1024 }[m[2] as 'M' | 'G' | 'T'] : Number.NaN;
  const { min, max } = LIMITS.diskGiB;
  if (!(gib >= min && gib <= max)) throw new LimitError(setting, raw, `a size like 20G, from ${min}G to ${max / 1024}T (the ESP alone takes 1 GiB)`);
  return v;
}

/**
 * A host under nixosConfigurations, as the harness may name it: a Nix identifier (letters,
 * digits, `_` and `-`, not starting with a digit or `-`). Anything else could reach a guest
 * command, a Nix string or a path; a flake whose host needs quoting is renamed or aliased.
 */
export const HOST_NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,62}$/;

export function hostName(setting: string, host: string): string {
  if (!HOST_NAME.test(host)) throw new LimitError(setting, host, 'a Nix attribute name of letters, digits, _ and - (not starting with a digit or -), at most 63 characters: the name under nixosConfigurations');
  return host;
}
