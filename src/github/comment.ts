// The sticky pull-request comment: one per host, found again by a hidden marker on its first
// line and edited in place on every run, so a PR carries the latest report per host and not a
// pile of them. The token stays inside the octokit the caller built: this module never sees it,
// and errors are rethrown without the request (headers) attached.
import type { getOctokit } from '@actions/github';

export type Octokit = ReturnType<typeof getOctokit>;

/** GitHub rejects a comment body over this many characters (422 "body is too long"). */
export const GITHUB_COMMENT_LIMIT = 65_536;
/**
 * What we aim for. JS counts UTF-16 code units, never fewer than the characters GitHub counts,
 * and the margin absorbs the note we append and any counting we do not know about.
 */
const TARGET = 65_000;

/** The login of the default GITHUB_TOKEN's comments. */
export const ACTIONS_BOT = 'github-actions[bot]';

export interface StickyCommentOptions {
  owner: string;
  repo: string;
  issueNumber: number;
  /** The flake host this report is for: one comment per host. */
  host: string;
  /** `GITHUB_RUN_ID`: a comment from a newer run is never overwritten by an older one. */
  runId: number;
  sha: string;
  body: string;
  /**
   * Only comments by this login are ours (default `github-actions[bot]`; pass the PAT's or the
   * app's `<name>[bot]` login). Anyone can paste our marker into a comment: without this, a
   * forged marker with a huge run id would silence the report, or get someone's comment edited.
   */
  author?: string;
  /** Link for the truncation note (the run page, where the artifacts are). */
  runUrl?: string;
  /** Progress lines (e.g. core.info). Never given the token: it does not have it. */
  log?: (line: string) => void;
}

export interface StickyCommentResult {
  action: 'created' | 'updated' | 'skipped';
  commentId?: number;
  reason?: string;
  truncated: boolean;
}

/**
 * The marker, e.g. `<!-- nixos-rehearse host=server run=123 sha=abc -->`. Host and sha are
 * URI-encoded: no space (the parser splits on them) and no `>` (so no `-->` can end the comment
 * early and show the rest).
 */
export function commentMarker(host: string, runId: number, sha: string): string {
  return `<!-- nixos-rehearse host=${encodeURIComponent(host)} run=${Math.trunc(runId)} sha=${encodeURIComponent(sha)} -->`;
}

/** The marker of a body, when its first line is one. `host` stays encoded, as compared. */
export function parseMarker(body: string): { host: string; runId: number; sha: string } | undefined {
  const m = /^<!-- nixos-rehearse host=(\S+) run=(\d+) sha=(\S*) -->\r?(?:\n|$)/.exec(body);
  return m ? { host: m[1], runId: Number(m[2]), sha: m[3] } : undefined;
}

/** True for a PR from a fork: its token is read-only, so the caller skips the comment. */
export function isForkPullRequest(payload: { pull_request?: unknown }): boolean {
  const pr = payload.pull_request as { head?: { repo?: { full_name?: string } | null }; base?: { repo?: { full_name?: string } | null } } | undefined | null;
  if (!pr) return false;
  const head = pr.head?.repo?.full_name;
  // A deleted fork has `head.repo: null`: certainly not this repository.
  return head === undefined || head !== pr.base?.repo?.full_name;
}

const FENCE = /^ {0,3}(`{3,}|~{3,})/;

/**
 * Cuts `body` to at most `limit` characters at a line boundary and appends `note`. Cut inside a
 * code fence, the fence is closed (else the note, and everything GitHub renders after it, would
 * be code); cut inside `<details>`, those are closed too (else the note is hidden in them).
 */
export function fitComment(body: string, limit: number, note: string): { body: string; truncated: boolean } {
  if (body.length <= limit) return { body, truncated: false };
  const lines = body.split('\n');
  const kept: string[] = [];
  let size = 0;
  let fence: string | undefined; // the opening run of the fence we are in, e.g. ````` or ~~~
  let details = 0;
  const closers = (f: string | undefined, d: number) => `${f ? `\n${f}` : ''}${'\n\n</details>'.repeat(d)}`;
  for (const line of lines) {
    // State after this line, to know what closing it would take if we cut right after it.
    let f = fence;
    let d = details;
    const m = FENCE.exec(line);
    if (f) {
      if (m && m[1][0] === f[0] && m[1].length >= f.length && line.trim() === m[1]) f = undefined;
    } else if (m && !(m[1][0] === '`' && line.slice(m[0].length).includes('`'))) f = m[1];
    else {
      d += (line.match(/<details\b/gi) ?? []).length;
      d = Math.max(0, d - (line.match(/<\/details>/gi) ?? []).length);
    }
    const add = (kept.length ? 1 : 0) + line.length;
    if (size + add + closers(f, d).length + note.length > limit) break;
    kept.push(line);
    size += add;
    fence = f;
    details = d;
  }
  return { body: kept.join('\n') + closers(fence, details) + note, truncated: true };
}

function truncationNote(runId: number, runUrl?: string): string {
  const run = runUrl ? `[run ${runId}](${runUrl})` : `run ${runId}`;
  return `\n\n---\n:scissors: *The report was cut here to fit GitHub's ${GITHUB_COMMENT_LIMIT.toLocaleString('en-US')}-character comment limit; the full report (report.md, report.json, logs) is in the artifacts of ${run}.*\n`;
}

interface ApiError {
  status?: number;
  message?: string;
}

/** A read-only token (fork PRs, `permissions: read`) answers 403 with this message. */
const isReadOnly = (e: unknown) => (e as ApiError).status === 403 && /Resource not accessible by integration/i.test(String((e as ApiError).message));

/** Rethrows an API error as a plain Error: the octokit error carries the request (redacted, but still). */
function apiError(what: string, e: unknown): Error {
  const err = e as ApiError;
  return new Error(`GitHub API: ${what} failed${err.status ? ` (HTTP ${err.status})` : ''}: ${String(err.message ?? e)}`);
}

/**
 * The login our comments carry: `override` (the action's `comment-author` input) when given, else
 * the token's own identity from `GET /user` (a personal access token's user), else the default
 * GITHUB_TOKEN's `github-actions[bot]` (an installation token gets 403 from /user; a GitHub App's
 * token needs `comment-author: <app-slug>[bot]`). Without it a PAT's run never found its own
 * comment and posted a new one each time.
 */
export async function commentAuthor(octokit: Octokit, override?: string): Promise<string> {
  if (override?.trim()) return override.trim();
  try {
    const { data } = await octokit.rest.users.getAuthenticated();
    if (data?.login) return data.login;
  } catch (e) {
    const status = (e as ApiError).status;
    if (status !== 403 && status !== 401 && status !== 404) throw apiError('reading the token\'s identity (GET /user)', e);
  }
  return ACTIONS_BOT;
}

/** Creates or updates this host's report comment on the pull request; see the module comment. */
export async function upsertStickyComment(octokit: Octokit, opts: StickyCommentOptions): Promise<StickyCommentResult> {
  const log = opts.log ?? (() => {});
  // A run id that is not a whole number would write a marker no later run can read back.
  if (!Number.isSafeInteger(opts.runId) || opts.runId < 0) throw new Error(`runId must be a whole number (GITHUB_RUN_ID), got ${opts.runId}`);
  const marker = commentMarker(opts.host, opts.runId, opts.sha);
  const fitted = fitComment(opts.body, TARGET - marker.length - 1, truncationNote(opts.runId, opts.runUrl));
  const body = `${marker}\n${fitted.body}`;
  const { truncated } = fitted;
  if (truncated) log(`the report is longer than a GitHub comment allows: cut to ${body.length} characters`);
  const author = opts.author ?? ACTIONS_BOT;
  const where = { owner: opts.owner, repo: opts.repo };
  const skipped = (reason: string): StickyCommentResult => {
    log(`PR comment skipped: ${reason}`);
    return { action: 'skipped', reason, truncated };
  };

  let existing: { id: number; runId: number }[];
  try {
    const all = await octokit.paginate(octokit.rest.issues.listComments, { ...where, issue_number: opts.issueNumber, per_page: 100 });
    const host = encodeURIComponent(opts.host);
    existing = all.flatMap((c) => {
      const m = c.user?.login === author ? parseMarker(c.body ?? '') : undefined;
      return m && m.host === host ? [{ id: c.id, runId: m.runId }] : [];
    });
  } catch (e) {
    if (isReadOnly(e)) return skipped('the token cannot read the pull request comments (Resource not accessible by integration)');
    throw apiError(`listing the comments of #${opts.issueNumber}`, e);
  }

  const newer = existing.find((c) => c.runId > opts.runId);
  if (newer) return skipped(`a newer run (${newer.runId}) already reported for ${opts.host} in comment ${newer.id}`);

  try {
    // Several of ours for one host (two runs raced to create): keep editing the oldest.
    const mine = existing[0];
    if (mine) {
      await octokit.rest.issues.updateComment({ ...where, comment_id: mine.id, body });
      log(`updated the PR comment ${mine.id} for ${opts.host}`);
      return { action: 'updated', commentId: mine.id, truncated };
    }
    const { data } = await octokit.rest.issues.createComment({ ...where, issue_number: opts.issueNumber, body });
    log(`created the PR comment ${data.id} for ${opts.host}`);
    return { action: 'created', commentId: data.id, truncated };
  } catch (e) {
    if (isReadOnly(e)) return skipped('the token is read-only (Resource not accessible by integration), e.g. a pull request from a fork');
    throw apiError(`writing the comment on #${opts.issueNumber}`, e);
  }
}
