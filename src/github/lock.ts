// The flake inputs a pull request changes: flake.lock on the base commit (through the REST API,
// because actions/checkout fetches only the head by default) against the checked-out one.
// Thin adapter; the comparison itself is flake-lock.ts (pure).
import { execaSync } from 'execa';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type * as github from '@actions/github';
import { diffFlakeLock } from '../flake-lock.js';
import { flakeDir } from '../flake.js';
import type { LockChange } from '../report.js';

type Octokit = ReturnType<typeof github.getOctokit>;
type Context = typeof github.context;

/** `flake` is `<dir>#<host>` with an absolute dir inside the workspace. */
export async function lockChangesForPullRequest(octokit: Octokit, ctx: Context, flake: string): Promise<LockChange[] | undefined> {
  const pr = ctx.payload.pull_request;
  const baseSha = (pr?.base as { sha?: string } | undefined)?.sha;
  if (!baseSha) return undefined;
  const dir = flakeDir(flake);
  const local = path.join(dir, 'flake.lock');
  if (!existsSync(local)) return undefined;
  const workspace = process.env.GITHUB_WORKSPACE || process.cwd();
  const rel = path.relative(workspace, local).split(path.sep).join('/');
  if (rel.startsWith('..')) return undefined;
  let base: string | undefined;
  try {
    const r = await octokit.rest.repos.getContent({ owner: ctx.repo.owner, repo: ctx.repo.repo, path: rel, ref: baseSha });
    const data = r.data as { content?: string; encoding?: string };
    base = data.content !== undefined ? Buffer.from(data.content, (data.encoding as BufferEncoding) || 'base64').toString('utf8') : undefined;
  } catch (e) {
    // 404: the base branch has no flake.lock yet; every input is new.
    if ((e as { status?: number }).status !== 404) throw e;
  }
  return diffFlakeLock(base, readFileSync(local, 'utf8'));
}

/**
 * Outside a pull request (the lock-bump workflow updates flake.lock in the job's checkout before
 * the rehearsal): the working copy's flake.lock against the committed one. Undefined when git
 * or the file is not there, or nothing changed.
 */
export function lockChangesAgainstHead(flake: string): LockChange[] | undefined {
  const dir = flakeDir(flake);
  const local = path.join(dir, 'flake.lock');
  if (!existsSync(local)) return undefined;
  let committed: string | undefined;
  try {
    committed = execaSync('git', ['-C', dir, 'show', 'HEAD:./flake.lock'], { stdin: 'ignore', stderr: 'ignore', stripFinalNewline: false }).stdout;
  } catch {
    return undefined; // not a git checkout, or the lock is new: nothing to compare with
  }
  const changes = diffFlakeLock(committed, readFileSync(local, 'utf8'));
  return changes.length ? changes : undefined;
}
