// What of a flake directory goes into the guest: what Nix would see. A flake inside a git
// repository is a git flake to Nix: only the files git tracks (the index, staged new files
// included) are in its source, so an untracked credentials file (google-github-actions/auth's
// gha-creds-*.json) or a build directory never leaves the runner. Outside git, Nix copies the
// whole directory (a path: flake); nested .git directories are never copied.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';

/**
 * The files to copy, relative to `dir` (git's tracked files that exist), or undefined when `dir`
 * is not in a git work tree (or git is missing): then the whole directory, without `.git`.
 */
export async function flakeFiles(dir: string): Promise<string[] | undefined> {
  const inside = await execa('git', ['-C', dir, 'rev-parse', '--is-inside-work-tree'], { reject: false, stdin: 'ignore' }).catch(() => undefined);
  if (!inside || inside.exitCode !== 0 || inside.stdout.trim() !== 'true') return undefined;
  const r = await execa('git', ['-C', dir, 'ls-files', '-z', '--cached', '--', '.'], { stdin: 'ignore', stripFinalNewline: false });
  return r.stdout
    .split('\0')
    .filter((f) => f && existsSync(path.join(dir, f)))
    .sort();
}
