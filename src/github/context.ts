// Where a report comment goes, read from the workflow's context (`github.context` of
// @actions/github, or any object of that shape in tests). Pure: no API calls.
import { isForkPullRequest } from './comment.js';

export interface ContextLike {
  payload: { pull_request?: { number: number; head?: { sha?: string } } & Record<string, unknown> } & Record<string, unknown>;
  repo: { owner: string; repo: string };
  runId: number;
  serverUrl: string;
}

export interface PullRequestTarget {
  owner: string;
  repo: string;
  issueNumber: number;
  /** The PR's head commit (the event's `GITHUB_SHA` is a merge commit GitHub made). */
  sha: string;
  runId: number;
  /** The run page, where the artifacts are. */
  runUrl: string;
  /** From a fork: the token is read-only, so no comment can be written. */
  fork: boolean;
}

/** The pull request this run is for, or undefined when the event is not a pull request. */
export function pullRequestTarget(ctx: ContextLike): PullRequestTarget | undefined {
  const pr = ctx.payload.pull_request;
  if (!pr || typeof pr.number !== 'number') return undefined;
  const { owner, repo } = ctx.repo;
  return {
    owner,
    repo,
    issueNumber: pr.number,
    sha: pr.head?.sha ?? '',
    runId: ctx.runId,
    runUrl: `${ctx.serverUrl}/${owner}/${repo}/actions/runs/${ctx.runId}`,
    fork: isForkPullRequest(ctx.payload),
  };
}
