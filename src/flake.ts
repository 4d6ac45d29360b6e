// The configuration under test: a local flake directory and a host under nixosConfigurations.
// Checked before anything boots, so that a typo costs seconds, not a VM boot.
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { type Field, RehearseError } from './errors.js';
import { hostName } from './limits.js';

/** The flake under test: not usable (input), or it declares no such host (unknown-flake-host: dir, host, declared). */
export class FlakeError extends RehearseError {
  constructor(message: string, kind: 'input' | 'unknown-flake-host' = 'input', fields: Record<string, Field> = {}) {
    super(kind, message, fields);
    this.name = 'FlakeError';
  }
}

/**
 * Host names a flake.nix declares statically: `nixosConfigurations.<name> =` and the names in a
 * `nixosConfigurations = { <name> = ...; }` set. Empty when they are computed (then only the
 * evaluation in the VM can tell).
 */
export function declaredHosts(flakeNix: string): string[] {
  const text = flakeNix.replace(/#[^\n]*/g, '');
  const hosts = new Set<string>();
  for (const m of text.matchAll(/nixosConfigurations\s*\.\s*"?([\w-]+)"?\s*=/g)) hosts.add(m[1]!);
  const set = /nixosConfigurations\s*=\s*\{/.exec(text);
  if (set) {
    let depth = 0;
    let i = set.index + set[0].length - 1;
    const start = i;
    for (; i < text.length; i++) {
      if (text[i] === '{') depth++;
      else if (text[i] === '}' && --depth === 0) break;
    }
    const body = text.slice(start + 1, i);
    // Names at depth 0 of the set.
    let d = 0;
    let token = '';
    for (const c of body) {
      if (c === '{' || c === '[' || c === '(') d++;
      else if (c === '}' || c === ']' || c === ')') d--;
      token = d === 0 ? token + c : '';
      const m = d === 0 ? /(?:^|[;\s])"?([\w-]+)"?\s*=\s*$/.exec(token) : null;
      if (m) {
        hosts.add(m[1]!);
        token = '';
      }
    }
  }
  return [...hosts];
}

/**
 * A flake reference `<path-or-url>#<host>` split at its last `#` (pure): `host` is '' when there
 * is none. The one parser: the CLI, the action's input, the plan, the lock diff and the report use it.
 */
export function parseFlakeRef(ref: string): { where: string; host: string } {
  const i = ref.lastIndexOf('#');
  return i < 0 ? { where: ref, host: '' } : { where: ref.slice(0, i), host: ref.slice(i + 1) };
}

/** `<path-or-url>#<host>` → [where ('.' when empty), host]; the host must be there and be a Nix attribute name. */
export function splitFlakeRef(ref: string): [string, string] {
  const { where, host } = parseFlakeRef(ref);
  if (!host) {
    throw new RehearseError(
      'input',
      `flake reference '${ref}' names no host: write it as <path-or-url>#<host>, e.g. .#server (the host is the name under nixosConfigurations)`,
      { flakeRef: ref, problem: 'no-host' },
    );
  }
  return [where || '.', hostName(`the host in flake reference '${ref}'`, host)];
}

/** The flake directory of `<dir>#<host>` (pure). */
export function flakeDir(ref: string): string {
  return parseFlakeRef(ref).where;
}

/** The host of `<dir>#<host>` (pure; '' when there is none). */
export function flakeHost(ref: string): string {
  return parseFlakeRef(ref).host;
}

/**
 * The directory a local flake reference's `where` names, resolved against `base` (`path:` and
 * '' allowed); undefined for any other flake URL (`github:`, `git+https:`, …), which the
 * rehearsal does not take.
 */
export function localFlakeDir(where: string, base = process.cwd()): string | undefined {
  if (/^[a-z+]+:/.test(where) && !where.startsWith('path:')) return undefined;
  return path.resolve(base, where.replace(/^path:/, '') || '.');
}

export interface FlakeSource {
  dir: string;
  host: string;
  ref: string;
}

export function resolveFlake(ref: string): FlakeSource {
  const [where, host] = splitFlakeRef(ref);
  const dir = localFlakeDir(where);
  if (!dir) throw new FlakeError(`only local flake directories are supported (got '${where}'): check the repository out and pass its path, e.g. .#${host}`, 'input', { flakeRef: ref });
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new FlakeError(`flake directory not found: ${dir}`, 'input', { dir });
  const file = path.join(dir, 'flake.nix');
  if (!existsSync(file)) throw new FlakeError(`${dir} has no flake.nix: pass the directory of your configuration's flake`, 'input', { dir });
  const hosts = declaredHosts(readFileSync(file, 'utf8'));
  if (hosts.length && !hosts.includes(host)) {
    throw new FlakeError(`the flake in ${dir} has no nixosConfigurations.${host}; it declares: ${hosts.join(', ')}. Pass one of them after '#'.`, 'unknown-flake-host', { dir, host, declared: hosts });
  }
  return { dir, host, ref: `${dir}#${host}` };
}
