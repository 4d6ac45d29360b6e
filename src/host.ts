// Whether this host can run a rehearsal at all (QEMU, qemu-img, OVMF, ssh-keygen), and whether
// a run's inputs stand: what the exit codes 3 and 2 are made from. Reads the file system only.
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RehearseError } from './errors.js';
import { resolveFlake } from './flake.js';
import { findFirmware, firmwareCandidates } from './qemu/firmware.js';
import { INSTALL_HINT, qemuBinary, qemuImgBinary } from './qemu/tools.js';
import { layoutByName } from './runbook/layouts.js';

/** Where `bin` is, as the shell would find it (a name on PATH, or a path), if it is executable. */
export function onPath(bin: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const ok = (p: string) => {
    try {
      accessSync(p, constants.X_OK);
      return statSync(p).isFile();
    } catch {
      return false;
    }
  };
  if (bin.includes('/')) return ok(bin) ? bin : undefined;
  for (const dir of (env.PATH ?? '').split(path.delimiter)) if (dir && ok(path.join(dir, bin))) return path.join(dir, bin);
  return undefined;
}

/** What this host lacks for a rehearsal, one line each (empty: ready). */
export function hostProblems(env: NodeJS.ProcessEnv = process.env): string[] {
  const problems: string[] = [];
  const tools: Array<[string, string]> = [['QEMU', qemuBinary(env)], ['qemu-img', qemuImgBinary(env)], ['ssh-keygen', 'ssh-keygen']];
  for (const [what, bin] of tools) if (!onPath(bin, env)) problems.push(`${what} not found (${bin})`);
  try {
    findFirmware(firmwareCandidates(env));
  } catch {
    problems.push('OVMF UEFI firmware not found');
  }
  return problems;
}

/** The host-not-ready error (exit 3) when the host lacks something, else undefined. */
export function hostNotReady(env: NodeJS.ProcessEnv = process.env): RehearseError | undefined {
  const problems = hostProblems(env);
  if (!problems.length) return undefined;
  return new RehearseError('host-not-ready', `this host is not ready for a rehearsal: ${problems.join('; ')}. \`nixos-rehearse doctor\` says more; to install: ${INSTALL_HINT}`, { problems });
}

/** The input error (exit 2) a run's layout, flake or local ISO makes, else undefined. */
export function inputProblem(o: { layout: string; flake: string; iso: string }): RehearseError | undefined {
  try {
    layoutByName(o.layout);
    resolveFlake(o.flake);
  } catch (e) {
    return new RehearseError('input', (e as Error).message);
  }
  if (!/^[a-z]+:\/\//.test(o.iso)) {
    const file = path.resolve(o.iso.replace(/^~(?=\/)/, os.homedir()));
    if (!existsSync(file) || !statSync(file).isFile()) return new RehearseError('input', `ISO not found: ${file}`);
  }
  return undefined;
}
