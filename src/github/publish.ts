// The publishing mode's API half (see src/publish.ts): the pull request of a workflow_run found
// through the API, then one sticky comment for the reports.
import { type FoundReport, publishedKey, renderPublished, type WorkflowRunInfo } from '../publish.js';
import { type Octokit, type StickyCommentResult, upsertStickyComment } from './comment.js';

export type PublishResult = StickyCommentResult & { issueNumber?: number };

/**
 * The open pull request whose head is the workflow_run's: same head repository and branch, and
 * `head.sha` equal to the run's `head_sha` (a push after the run means the report is stale).
 * Undefined, with the reason, when there is none or the run was not for a fork's pull request.
 */
export async function pullRequestOfRun(octokit: Octokit, owner: string, repo: string, run: WorkflowRunInfo): Promise<{ number: number } | { reason: string }> {
  if (run.event !== 'pull_request') return { reason: `the run was for a ${run.event} event, not a pull request` };
  if (run.headRepo === run.baseRepo) return { reason: 'the pull request is from this repository: its rehearsal commented itself' };
  const pulls = await octokit.paginate(octokit.rest.pulls.list, { owner, repo, state: 'open', head: `${run.headOwner}:${run.headBranch}`, per_page: 100 });
  const match = pulls.filter((p) => p.head?.repo?.full_name === run.headRepo && p.head?.ref === run.headBranch);
  const same = match.filter((p) => p.head?.sha === run.headSha);
  if (same.length === 1) return { number: same[0]!.number };
  if (match.length) return { reason: `the pull request's head is ${match[0]!.head?.sha}, not the rehearsed ${run.headSha}: the report is stale` };
  return { reason: `no open pull request from ${run.headRepo}:${run.headBranch}` };
}

/**
 * Publishes `reports` as one sticky comment: on the pull request of a workflow_run (found through
 * the API), or on `target`, the pull request of this very workflow (a fleet's final job).
 */
export async function publishReports(
  octokit: Octokit,
  o: {
    owner: string;
    repo: string;
    reports: FoundReport[];
    author: string;
    log?: (s: string) => void;
  } & ({ run: WorkflowRunInfo } | { target: { issueNumber: number; runId: number; sha: string; runUrl?: string } }),
): Promise<PublishResult> {
  let where: { issueNumber: number; runId: number; sha: string; runUrl?: string; conclusion?: string };
  if ('run' in o) {
    const pr = await pullRequestOfRun(octokit, o.owner, o.repo, o.run);
    if ('reason' in pr) return { action: 'skipped', reason: pr.reason, truncated: false };
    where = { issueNumber: pr.number, runId: o.run.id, sha: o.run.headSha, runUrl: o.run.htmlUrl, conclusion: o.run.conclusion };
  } else where = o.target;
  const reports = o.reports.map((f) => f.report);
  const body = renderPublished(reports, { conclusion: where.conclusion, runUrl: where.runUrl });
  const r = await upsertStickyComment(octokit, {
    owner: o.owner,
    repo: o.repo,
    issueNumber: where.issueNumber,
    host: publishedKey(reports),
    runId: where.runId,
    sha: where.sha,
    body,
    author: o.author,
    runUrl: where.runUrl,
    log: o.log,
  });
  return { ...r, issueNumber: where.issueNumber };
}
