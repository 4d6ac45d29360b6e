// Facts about the host machine, in one place for the engine (src/, bundled into dist/) and the
// scripts under vm/ (run unbundled with zx): the cache directory, whether a command is on PATH
// (what `command -v` answers), and the Debian packages that provide missing tools, with the one
// apt-get command that installs them. Plain Node, no dependencies: dist/ bundles this file and
// vm/ imports it as it is. Types: host.d.mts.
import { accessSync, constants, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * The cache directory: `$XDG_CACHE_HOME/nixos-rehearse`, else `~/.cache/nixos-rehearse`. With
 * `runner` (the action on a GitHub runner), `$RUNNER_TOOL_CACHE/nixos-rehearse` when that is set.
 */
export function cacheDir(env = process.env, { runner = false } = {}) {
  const base = (runner && env.RUNNER_TOOL_CACHE) || env.XDG_CACHE_HOME || path.join(env.HOME || os.homedir(), '.cache');
  return path.join(base, 'nixos-rehearse');
}

function executable(file) {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * Where `cmd` runs from, as `command -v` answers for a program: a name with a slash is taken as a
 * path; otherwise the first executable file of that name in `env.PATH`. Undefined when there is none.
 */
export function commandPath(cmd, env = process.env) {
  if (cmd.includes('/')) return executable(cmd) ? path.resolve(cmd) : undefined;
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    const file = path.join(dir || '.', cmd);
    if (executable(file)) return file;
  }
  return undefined;
}

export function hasCommand(cmd, env = process.env) {
  return commandPath(cmd, env) !== undefined;
}

/** The Debian packages (values of `tools`, command → package) whose commands `has` does not find, each once. */
export function missingPackages(tools, has = (cmd) => hasCommand(cmd)) {
  return [...new Set(Object.entries(tools).filter(([cmd]) => !has(cmd)).map(([, pkg]) => pkg))];
}

/**
 * How to install `packages` on this machine (pure): `run` is the argv that installs them now (as
 * root, or through passwordless sudo), undefined when neither is possible; `command` is the exact
 * shell line for a person to run.
 */
export function aptInstall(packages, { root, passwordlessSudo, aptGet = true }) {
  if (!packages.length) return undefined;
  const line = `apt-get update && apt-get install -y --no-install-recommends ${packages.join(' ')}`;
  if (!aptGet) return { run: undefined, command: `sudo sh -c '${line}'`, line, packages, noApt: true };
  const run = root ? ['sh', '-c', line] : passwordlessSudo ? ['sudo', '-n', 'sh', '-c', line] : undefined;
  return { run, command: `sudo sh -c '${line}'`, line, packages };
}
