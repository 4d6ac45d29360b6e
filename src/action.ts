// The GitHub Action's entry point (dist/index.js): orchestration only. Inputs (action/inputs.ts)
// → the runner (KVM, QEMU) → the ISO from the Actions cache → the rehearsal (rehearsal.ts), one
// log group per phase → report.md in the job summary, one sticky comment on the pull request,
// the logs and recordings as an artifact → outputs, and a failed step exactly when the report
// says fail.
import { existsSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as core from '@actions/core';
import * as github from '@actions/github';
import { readInputs } from './action/inputs.js';
import { expectedIsoSha256, restoreBase, restoreIso, saveBase, saveIso } from './action/iso-cache.js';
import { baseCacheDir, baseKeyFor } from './upgrade/base-cache.js';
import { layoutByName } from './runbook/layouts.js';
import { isoCachePath } from './iso/source.js';
import { prepareRunner } from './action/runner.js';
import { doctor, renderDoctor } from './doctor.js';
import { commentAuthor } from './github/comment.js';
import { githubReporter } from './reporters/github.js';
import { baseFlake } from './github/base-checkout.js';
import { RehearseError } from './errors.js';
import { cacheDir as hostCacheDir } from './host.js';
import { pullRequestTarget } from './github/context.js';
import { lockChangesAgainstHead, lockChangesForPullRequest } from './github/lock.js';
import { runRehearsal } from './rehearsal.js';
import { neutraliseWorkflowCommands } from './action/log-text.js';
import { readReports, workflowRunInfo } from './publish.js';
import { publishReports } from './github/publish.js';

/**
 * Publishing mode (`publish-reports`): no rehearsal; the reports downloaded from a workflow_run's
 * artifacts go on that run's pull request as one comment (src/publish.ts says what is trusted).
 */
async function publish(dir: string, token: string) {
  if (!token) throw new Error('publish-reports needs a github-token with pull-requests: write');
  const payload = github.context.payload as Record<string, unknown>;
  // A workflow_run (a fork's reports): the pull request is found through the API. A pull_request
  // event (a fleet's final job in the same workflow): the event names it.
  const pr = payload.workflow_run ? undefined : pullRequestTarget(github.context);
  if (pr?.fork) {
    core.notice('a pull request from a fork has a read-only token here: publish its reports from a workflow_run workflow (examples/workflows/rehearse-fork-comment.yml)');
    return;
  }
  const where = pr ? { target: { issueNumber: pr.issueNumber, runId: pr.runId, sha: pr.sha, runUrl: pr.runUrl } } : { run: workflowRunInfo(payload) };
  const { reports, refused } = readReports(path.resolve(process.env.GITHUB_WORKSPACE || '.', dir));
  for (const r of refused) core.warning(neutraliseWorkflowCommands(`not published: ${r}`));
  if (!reports.length) throw new Error(`no report.json to publish under ${dir}${refused.length ? ` (${refused.length} refused, see the warnings)` : ''}`);
  const octokit = github.getOctokit(token);
  const { owner, repo } = github.context.repo;
  const author = await commentAuthor(octokit, core.getInput('comment-author'));
  const r = await publishReports(octokit, { owner, repo, reports, author, log: (l) => core.info(neutraliseWorkflowCommands(l)), ...where });
  if (r.action === 'skipped') core.notice(`nothing published: ${r.reason}`);
  else core.info(`${reports.length} report(s) published on #${r.issueNumber}: comment ${r.action} (id ${r.commentId})`);
  core.setOutput('published', r.action === 'skipped' ? 'false' : 'true');
}

/**
 * Upgrade mode: the pull request's base commit in a worktree, its configuration the one upgraded
 * from. Without a pull request's base, or a base without this flake, the run installs instead,
 * saying why.
 */
async function upgradeBase(inputs: ReturnType<typeof readInputs>, outDir: string): Promise<string | undefined> {
  const sha = (github.context.payload.pull_request?.base as { sha?: string } | undefined)?.sha;
  if (!sha) {
    core.notice('mode upgrade: this event has no pull request base commit to upgrade from; the configuration is installed from scratch instead');
    return undefined;
  }
  const workspace = process.env.GITHUB_WORKSPACE || process.cwd();
  const [dir, host] = [inputs.flake.slice(0, inputs.flake.lastIndexOf('#')), inputs.host];
  let base: string | undefined;
  try {
    base = await baseFlake(workspace, { dir, host }, sha, path.join(outDir, '..'));
  } catch (e) {
    // mode: upgrade asked for by name fails with the reason; auto says it and installs.
    const why = `the pull request's base commit ${sha.slice(0, 12)} could not be checked out: ${(e as Error).message.split('\n')[0]}`;
    if (inputs.modeExplicit) throw new RehearseError('input', `mode upgrade: ${why}. Check the repository out with actions/checkout (fetch-depth 0 avoids the fetch)`, { sha });
    core.warning(neutraliseWorkflowCommands(`mode auto: ${why}; the configuration is installed from scratch instead`));
    return undefined;
  }
  if (!base) core.notice(`mode upgrade: the base commit ${sha.slice(0, 12)} has no flake at ${path.relative(workspace, dir) || '.'}; the configuration is installed from scratch instead`);
  else core.info(`upgrade mode: from the base commit ${sha.slice(0, 12)} (${base}) to this pull request`);
  return base;
}

async function main() {
  const token = core.getInput('github-token');
  if (token) core.setSecret(token);
  const publishDir = core.getInput('publish-reports');
  if (publishDir) return publish(publishDir, token);
  const inputs = readInputs((n) => core.getInput(n), process.env);
  for (const w of inputs.warnings) core.warning(w);

  for (const line of await prepareRunner(process.env)) core.info(line);
  const d = await doctor(inputs.accel);
  core.startGroup('Runner check (nixos-rehearse doctor)');
  core.info(renderDoctor(d));
  core.endGroup();
  if (!d.ok) throw new Error(`the runner cannot run the rehearsal: ${d.problems.join('; ')}. ${d.fix ?? ''}`);
  if (d.accel === 'tcg') core.warning(`no KVM: ${d.kvm?.reason ?? d.accelReason}. The rehearsal runs under TCG, many times slower.`);

  const cacheDir = hostCacheDir(process.env, { runner: true });
  const sha = await expectedIsoSha256(inputs.iso, inputs.isoSha256);
  const restored = sha && /^https?:/.test(inputs.iso) ? await restoreIso(cacheDir, sha) : false;

  const outDir = path.join(process.env.RUNNER_TEMP || os.tmpdir(), 'nixos-rehearse', `${inputs.host}-${inputs.layout}`);
  mkdirSync(outDir, { recursive: true });
  const target = pullRequestTarget(github.context);
  const octokit = inputs.token ? github.getOctokit(inputs.token) : undefined;
  const lockChanges =
    target && octokit
      ? await lockChangesForPullRequest(octokit, github.context, inputs.flake).catch((e: Error) => (core.info(neutraliseWorkflowCommands(`flake.lock diff unavailable: ${e.message}`)), undefined))
      : lockChangesAgainstHead(inputs.flake);

  const upgradeFrom = inputs.mode === 'upgrade' ? await upgradeBase(inputs, outDir) : undefined;
  core.setOutput('mode', upgradeFrom ? 'upgrade' : 'install');
  const base = upgradeFrom && sha ? await cachedBaseEntry(upgradeFrom, inputs, sha, cacheDir) : undefined;
  await runRehearsal({
    upgradeFrom,
    iso: inputs.iso,
    sha256: sha,
    flake: inputs.flake,
    layout: inputs.layout,
    diskSize: inputs.diskSize,
    memoryMiB: inputs.memoryMiB,
    cpus: inputs.cpus,
    accel: inputs.accel,
    network: inputs.network,
    networkAllow: inputs.networkAllow,
    outDir,
    cacheDir,
    rebuild: inputs.rebuild,
    reuseInstaller: inputs.reuseInstaller,
    phaseTimeoutMinutes: inputs.phaseTimeoutMinutes || undefined,
    lockChanges,
    reporters: [githubReporter({ inputs, target, octokit, sha: target?.sha || github.context.sha, outDir, env: process.env })],
  });
  if (sha && !restored && /^https?:/.test(inputs.iso) && existsSync(isoCachePath(cacheDir, sha))) await saveIso(cacheDir, sha);
  if (base && !base.restored) await saveBase(base.dir, base.key);
}

/** Upgrade mode's installed base: its key (the engine's), restored from the Actions cache when there. */
async function cachedBaseEntry(upgradeFrom: string, inputs: ReturnType<typeof readInputs>, isoSha256: string, cacheDir: string) {
  const baseDir = upgradeFrom.slice(0, upgradeFrom.lastIndexOf('#'));
  const key = await baseKeyFor({ isoSha256, baseDir, host: inputs.host, layout: inputs.layout, disks: layoutByName(inputs.layout).disks, diskSize: inputs.diskSize });
  const dir = baseCacheDir(cacheDir, key);
  return { key, dir, restored: await restoreBase(dir, key) };
}

main().catch((e: Error) => core.setFailed(e.message));
