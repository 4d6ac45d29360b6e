// The GitHub reporter: the run as a GitHub Actions job shows it. One log group per phase, each
// step and check a line in it; at the end report.md in the job summary, one sticky comment on
// the pull request, the logs and recordings as an artifact, the step's outputs, and an error
// annotation with a failed step exactly when the report says fail. Guest text goes through
// neutraliseWorkflowCommands: it can never issue a workflow command.
import * as core from '@actions/core';
import { artifactName, uploadRunFiles } from '../action/artifacts.js';
import type { ActionInputs } from '../action/inputs.js';
import { neutraliseWorkflowCommands } from '../action/log-text.js';
import { actionOutputs, failureAnnotation } from '../action/outputs.js';
import { commentAuthor, upsertStickyComment } from '../github/comment.js';
import type { pullRequestTarget } from '../github/context.js';
import { renderReportSafely } from '../render.js';
import type { Report } from '../report.js';
import type { Reporter } from '../reporter.js';
import { linesReporter } from './lines.js';

type Octokit = Parameters<typeof upsertStickyComment>[0];

export interface GithubReporterOptions {
  inputs: Pick<ActionInputs, 'host' | 'layout' | 'comment'>;
  /** The pull request this run is for, if any. */
  target: ReturnType<typeof pullRequestTarget>;
  octokit?: Octokit;
  /** The commit the report is about. */
  sha: string;
  outDir: string;
  env: NodeJS.ProcessEnv;
}

const info = (line: string) => core.info(neutraliseWorkflowCommands(line));

export function githubReporter(o: GithubReporterOptions): Reporter {
  const lines = linesReporter(info);
  return {
    ...lines,
    phaseStart: (p) => core.startGroup(neutraliseWorkflowCommands(p.title)),
    phaseEnd: () => core.endGroup(),
    warn: (line) => core.warning(neutraliseWorkflowCommands(line)),
    async runEnd(report, reportPath) {
      lines.runEnd?.(report, reportPath);
      const md = await summary(report, o);
      for (const [k, v] of Object.entries(actionOutputs(report, reportPath))) core.setOutput(k, v);
      core.setOutput('accel', report.accel);
      await comment(md, o);
      info((await uploadRunFiles(artifactName(o.inputs.host, o.inputs.layout), o.outDir, o.env)).message);
      const annotation = failureAnnotation(report);
      if (annotation) {
        core.error(annotation.message, { title: annotation.title });
        core.setFailed(`nixos-rehearse: FAIL for ${o.inputs.host} — ${annotation.message.split('\n')[0]}`);
      }
    },
  };
}

/** report.md, rendered once (a rendering failure costs a warning, never the report), into the job summary. */
async function summary(report: Report, o: GithubReporterOptions): Promise<string> {
  const rendered = renderReportSafely(report, { host: o.inputs.host });
  if (rendered.error) core.warning(neutraliseWorkflowCommands(rendered.error));
  if (o.env.GITHUB_STEP_SUMMARY) await core.summary.addRaw(rendered.markdown, true).write();
  return rendered.markdown;
}

/** The one sticky comment on the pull request, when there is one and a token may write it. */
async function comment(md: string, o: GithubReporterOptions): Promise<void> {
  const target = o.target;
  if (!o.inputs.comment || !target) return;
  if (target.fork) {
    core.notice('pull request from a fork: its token is read-only, so no comment is posted. The report is in the job summary and the artifact; see the README for the workflow_run split that comments on fork PRs.');
    return;
  }
  if (!o.octokit) {
    core.notice('no github-token: no comment is posted');
    return;
  }
  const { owner, repo, issueNumber, runId, runUrl } = target;
  const author = await commentAuthor(o.octokit, core.getInput('comment-author'));
  const r = await upsertStickyComment(o.octokit, { owner, repo, issueNumber, host: o.inputs.host, runId, sha: o.sha, body: md, runUrl, author });
  if (r.action === 'skipped') core.notice(`PR comment skipped: ${r.reason}`);
  else info(`PR comment ${r.action} (id ${r.commentId})${r.truncated ? ', cut to fit GitHub’s limit: the full report is in the artifact' : ''}`);
}
