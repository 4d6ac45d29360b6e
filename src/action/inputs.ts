// The action's inputs (action.yml), read and checked before anything runs: pure, given the
// runner's `getInput` and environment, so every message a user can get is unit-tested. The
// shape follows actions/checkout's input-helper.ts.
import { DEFAULT_MEMORY_MIB } from '../qemu/spec.js';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { declaredHosts, localFlakeDir, parseFlakeRef } from '../flake.js';
import { type Field, RehearseError } from '../errors.js';
import { LIMITS, type Range, diskSize as checkDiskSize, hostName, wholeNumber } from '../limits.js';
import { parseAllowed } from '../egress/policy.js';
import { LAYOUTS } from '../runbook/layouts.js';
import { DEFAULT_ISO } from '../iso/default.js';

/** The NixOS 25.11 minimal installer (iso/default.ts: the same for the action and the CLI). */
export { DEFAULT_ISO } from '../iso/default.js';

export interface ActionInputs {
  /** `<dir>#<host>`, resolved against the workspace. */
  flake: string;
  host: string;
  iso: string;
  isoSha256?: string;
  layout: string;
  diskSize: string;
  memoryMiB: number;
  cpus: number;
  accel: 'auto' | 'kvm' | 'tcg';
  /** What the VMs may reach (RehearsalOptions.network): internet (public addresses only) or none. */
  network: 'internet' | 'none';
  /** With internet: addresses or blocks reached besides (a private binary cache), one per word. */
  networkAllow: string[];
  rebuild: boolean;
  /** Restore the installer saved in the tool cache instead of booting the ISO (installer-state.ts). */
  reuseInstaller: boolean;
  comment: boolean;
  token: string;
  /** Per phase, in minutes (0 = the engine's default limit). */
  phaseTimeoutMinutes: number;
  /** What the user should change (a deprecated input), for core.warning. */
  warnings: string[];
  /**
   * install: the configuration from scratch; upgrade: from the pull request's base commit's
   * configuration, installed first, to this one (issue #16). From the input `mode`: auto is
   * upgrade on pull_request events and install on schedule, workflow_dispatch and push.
   */
  mode: 'install' | 'upgrade';
  /** The mode was asked for by name (not auto): failing to set it up is then an error, not a fallback. */
  modeExplicit: boolean;
}

/** The mode for an event: `auto` upgrades pull requests and installs everything else. */
export function resolveMode(requested: string, eventName: string | undefined): 'install' | 'upgrade' {
  const m = requested.trim() || 'auto';
  if (m === 'install' || m === 'upgrade') return m;
  if (m !== 'auto') throw new InputError(`input mode must be auto, install or upgrade (got '${requested}')`, { setting: 'mode', value: requested });
  return /^pull_request/.test(eventName ?? '') ? 'upgrade' : 'install';
}

/** A bad action input (kind input). */
export class InputError extends RehearseError {
  constructor(message: string, fields: Record<string, Field> = {}) {
    super('input', message, fields);
    this.name = 'InputError';
  }
}

type GetInput = (name: string) => string;

function bool(get: GetInput, name: string, dflt: boolean): boolean {
  const v = get(name).trim();
  if (v === '') return dflt;
  // The YAML 1.2 core schema's booleans, as @actions/core's getBooleanInput accepts them.
  if (['true', 'True', 'TRUE'].includes(v)) return true;
  if (['false', 'False', 'FALSE'].includes(v)) return false;
  throw new InputError(`input ${name} must be true or false, got '${get(name)}'`);
}

function int(get: GetInput, name: string, dflt: number, range: Range): number {
  const raw = get(name).trim();
  return raw === '' ? dflt : wholeNumber(`input ${name}`, raw, range);
}

/**
 * The flake input: `<path>#<host>`, `#<host>`, `<path>` or empty. Without a host the flake must
 * declare exactly one `nixosConfigurations` entry; with several, the error lists them.
 */
export function resolveFlakeInput(value: string, workspace: string): { dir: string; host: string } {
  const { where, host: named } = parseFlakeRef(value.trim());
  let host = named;
  const dir = localFlakeDir(where, workspace);
  if (!dir) {
    throw new InputError(`input flake must be a directory in the checked-out repository (got '${where}'): check the repository out with actions/checkout and pass its path, e.g. '.#${host || 'myhost'}'`);
  }
  const file = path.join(dir, 'flake.nix');
  if (!existsSync(dir) || !statSync(dir).isDirectory() || !existsSync(file)) {
    throw new InputError(`input flake: no flake.nix in ${dir}. Check the repository out first (actions/checkout) and point 'flake' at the directory holding flake.nix.`);
  }
  const hosts = declaredHosts(readFileSync(file, 'utf8'));
  if (!host) {
    if (hosts.length === 1) host = hosts[0]!;
    else if (hosts.length === 0) throw new InputError(`input flake: cannot tell the host from ${file} (no literal nixosConfigurations.<name>); pass it as '<dir>#<host>'`);
    else throw new InputError(`input flake: ${file} declares several hosts (${hosts.join(', ')}); pass one as '<dir>#<host>', or run a matrix over them`);
  }
  hostName('input flake: the host', host);
  if (hosts.length && !hosts.includes(host)) throw new InputError(`input flake: ${file} has no nixosConfigurations.${host}; it declares: ${hosts.join(', ')}`);
  return { dir, host };
}

/**
 * The per-phase limit: `phase-timeout-minutes`, or the old name `timeout-minutes`, which clashes
 * with the workflow keyword of the same name (a job's or a step's whole limit) and is taken with
 * a deprecation warning. 0 or empty: the engine's default.
 */
function phaseTimeout(get: GetInput): { phaseTimeoutMinutes: number; warnings: string[] } {
  const name = get('phase-timeout-minutes').trim() !== '' || get('timeout-minutes').trim() === '' ? 'phase-timeout-minutes' : 'timeout-minutes';
  const warnings =
    name === 'timeout-minutes'
      ? ["input timeout-minutes is deprecated: it reads like the workflow keyword timeout-minutes (the whole step's limit) but limits each phase. Rename it phase-timeout-minutes."]
      : [];
  const minutes = get(name).trim() === '0' ? 0 : int(get, name, 0, LIMITS.phaseTimeoutMinutes);
  return { phaseTimeoutMinutes: minutes, warnings };
}

export function readInputs(get: GetInput, env: NodeJS.ProcessEnv): ActionInputs {
  const workspace = env.GITHUB_WORKSPACE || process.cwd();
  const { dir, host } = resolveFlakeInput(get('flake'), workspace);
  const layout = get('layout').trim() || 'zfs';
  if (!(LAYOUTS as string[]).includes(layout)) throw new InputError(`input layout must be one of ${LAYOUTS.join(', ')} (got '${layout}')`);
  const accel = (get('accel').trim() || 'auto') as ActionInputs['accel'];
  if (!['auto', 'kvm', 'tcg'].includes(accel)) throw new InputError(`input accel must be auto, kvm or tcg, got ${accel}`);
  const network = (get('network').trim() || 'internet') as ActionInputs['network'];
  if (!['internet', 'none'].includes(network)) throw new InputError(`input network must be internet or none (got '${network}')`, { setting: 'network', value: network });
  const networkAllow = get('network-allow').split(/[\s,]+/).filter(Boolean);
  try {
    parseAllowed(networkAllow);
  } catch (e) {
    throw new InputError(`input ${(e as Error).message}`, { setting: 'network-allow', value: networkAllow.join(' ') });
  }
  if (networkAllow.length && network === 'none') throw new InputError('input network-allow has no effect with network none: the VM reaches nothing', { setting: 'network-allow', value: networkAllow.join(' ') });
  const diskSize = checkDiskSize('input disk-size', get('disk-size').trim() || '20G');
  const iso = get('iso').trim() || DEFAULT_ISO;
  const isoSha256 = get('iso-sha256').trim() || undefined;
  if (isoSha256 && !/^(sha256[:-])?[0-9a-fA-F]{64}$/.test(isoSha256)) throw new InputError(`input iso-sha256 must be 64 hex digits (got '${isoSha256}')`);
  const isPr = /^pull_request/.test(env.GITHUB_EVENT_NAME ?? '');
  return {
    flake: `${dir}#${host}`,
    host,
    iso: /^[a-z]+:\/\//.test(iso) ? iso : path.resolve(workspace, iso),
    isoSha256,
    layout,
    diskSize,
    memoryMiB: int(get, 'memory', DEFAULT_MEMORY_MIB, LIMITS.memoryMiB),
    cpus: int(get, 'cpus', 2, LIMITS.cpus),
    accel,
    network,
    networkAllow,
    rebuild: bool(get, 'rebuild', true),
    reuseInstaller: bool(get, 'reuse-installer', false),
    comment: bool(get, 'comment', isPr),
    token: get('github-token'),
    mode: resolveMode(get('mode'), env.GITHUB_EVENT_NAME),
    modeExplicit: ['install', 'upgrade'].includes(get('mode').trim()),
    ...phaseTimeout(get),
  };
}
