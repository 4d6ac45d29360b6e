// The configuration under test: a local flake directory and a host under nixosConfigurations.
// Checked before anything boots, so that a typo costs seconds, not a VM boot.
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { type Field, RehearseError } from './errors.js';
import { splitFlakeRef } from './runbook/plan.js';

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

export interface FlakeSource {
  dir: string;
  host: string;
  ref: string;
}

export function resolveFlake(ref: string): FlakeSource {
  const [where, host] = splitFlakeRef(ref);
  if (/^[a-z+]+:/.test(where) && !where.startsWith('path:')) {
    throw new FlakeError(`only local flake directories are supported (got '${where}'): check the repository out and pass its path, e.g. .#${host}`, 'input', { flakeRef: ref });
  }
  const dir = path.resolve(where.replace(/^path:/, ''));
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new FlakeError(`flake directory not found: ${dir}`, 'input', { dir });
  const file = path.join(dir, 'flake.nix');
  if (!existsSync(file)) throw new FlakeError(`${dir} has no flake.nix: pass the directory of your configuration's flake`, 'input', { dir });
  const hosts = declaredHosts(readFileSync(file, 'utf8'));
  if (hosts.length && !hosts.includes(host)) {
    throw new FlakeError(`the flake in ${dir} has no nixosConfigurations.${host}; it declares: ${hosts.join(', ')}. Pass one of them after '#'.`, 'unknown-flake-host', { dir, host, declared: hosts });
  }
  return { dir, host, ref: `${dir}#${host}` };
}
