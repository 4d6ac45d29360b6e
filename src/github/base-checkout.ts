// Upgrade mode in the action (issue #16 item 4): the pull request's base commit checked out
// beside the workspace with `git worktree`, so that its configuration can be installed first and
// upgraded from. actions/checkout fetches only the head by default: the base commit is fetched
// when it is missing. Thin adapter over git.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { RehearseError } from '../errors.js';

/**
 * The base configuration's flake reference: the same directory and host as `flake` (inside
 * `workspace`), in a worktree of `sha` under `into`. Undefined when the base commit has no flake
 * there (the pull request adds it): then there is nothing to upgrade from.
 */
export async function baseFlake(workspace: string, flake: { dir: string; host: string }, sha: string, into: string): Promise<string | undefined> {
  if (!/^[0-9a-f]{40}$/.test(sha)) throw new RehearseError('input', `the pull request's base commit is not a commit id: '${sha}'`, { sha });
  const rel = path.relative(workspace, flake.dir);
  if (rel.startsWith('..') || path.isAbsolute(rel)) throw new RehearseError('input', `upgrade mode needs the flake inside the checked-out repository (${workspace}); it is ${flake.dir}`, { dir: flake.dir });
  const git = (...args: string[]) => execa('git', ['-C', workspace, ...args], { stdin: 'ignore' });
  const have = await git('cat-file', '-e', `${sha}^{commit}`).then(() => true, () => false);
  if (!have) await git('fetch', '--no-tags', '--depth=1', 'origin', sha);
  const dir = path.join(into, `base-${sha.slice(0, 12)}`);
  await git('worktree', 'add', '--detach', '--force', dir, sha);
  const baseDir = path.join(dir, rel);
  return existsSync(path.join(baseDir, 'flake.nix')) ? `${baseDir}#${flake.host}` : undefined;
}
