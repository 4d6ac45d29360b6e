// Publishing mode (#15 items 1 and 2): reports from a fork's rehearsal (an artifact the fork
// controls) and a fleet of reports, published through the real @actions/github client against
// the local GitHub API server. Nothing the artifact says about where it goes is believed.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { getOctokit } from '@actions/github';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commentMarker, GITHUB_COMMENT_LIMIT } from '../../src/github/comment.js';
import { publishReports } from '../../src/github/publish.js';
import { readReports, renderPublished, workflowRunInfo } from '../../src/publish.js';
import type { Report } from '../../src/report.js';
import { type GitHubServer, startGitHubServer } from '../helpers/github-server.js';

const TOKEN = 'ghs_baseRepoWriteToken0123456789abcdef';
const BOT = 'github-actions[bot]';
const HEAD = 'c0ffee'.padEnd(40, '2');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'publish-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let gh: GitHubServer;
beforeEach(async () => {
  gh = await startGitHubServer({ tokens: { [TOKEN]: { login: BOT } } });
  // PR 7 from the fork mallory/fleet, branch bump; PR 9 is someone else's.
  gh.pulls.push({ owner: 'acme', repo: 'fleet', number: 7, state: 'open', head: { ref: 'bump', sha: HEAD, repo: { full_name: 'mallory/fleet', owner: { login: 'mallory' } } } });
  gh.pulls.push({ owner: 'acme', repo: 'fleet', number: 9, state: 'open', head: { ref: 'other', sha: 'd'.repeat(40), repo: { full_name: 'acme/fleet', owner: { login: 'acme' } } } });
});
afterEach(async () => gh.close());

const report = (host: string, o: Partial<Report> = {}): Report => ({
  schema: 2, result: 'pass', accel: 'kvm', iso: { path: '/iso' }, flake: `/w#${host}`, layout: 'zfs', installPath: 'flake', injected: [],
  phases: [{ id: 'install', title: 'Install', status: 'pass', durationMs: 60_000 }], steps: [], checks: [], startedAt: '2026-12-01T00:00:00Z', durationMs: 300_000, logs: { dir: '/l' }, ...o,
});
/** An artifact as download-artifact lays it out: a folder per artifact, the fork's files in it. */
function artifacts(name: string, files: Record<string, Record<string, string>>): string {
  const dir = path.join(tmp, name);
  for (const [folder, content] of Object.entries(files)) {
    mkdirSync(path.join(dir, folder), { recursive: true });
    for (const [f, text] of Object.entries(content)) writeFileSync(path.join(dir, folder, f), text);
  }
  return dir;
}
const event = (o: Record<string, unknown> = {}) => ({
  repository: { full_name: 'acme/fleet' },
  workflow_run: { id: 555, event: 'pull_request', conclusion: 'failure', head_sha: HEAD, head_branch: 'bump', head_repository: { full_name: 'mallory/fleet', owner: { login: 'mallory' } }, html_url: 'https://github.com/acme/fleet/actions/runs/555', ...o },
});
const publish = (dir: string, ev = event()) => {
  const { reports } = readReports(dir);
  return publishReports(getOctokit(TOKEN, { baseUrl: gh.url }), { owner: 'acme', repo: 'fleet', run: workflowRunInfo(ev), reports, author: BOT });
};

describe('publishing a fork’s report', () => {
  it('finds the pull request through the API, never by the artifact’s number, and renders report.json itself', async () => {
    const dir = artifacts('hostile', {
      'nixos-rehearse-web-zfs': {
        'report.json': JSON.stringify(report('web', { result: 'fail', diagnosis: [{ id: 'kernel-panic', symptom: 's', cause: '@octocat <img src=x>', fix: 'f' }] })),
        'report.md': '✅ **nixos-rehearse: PASS** @everyone ![t](https://evil.example/track.png)',
        'pull-request.json': JSON.stringify({ number: '7/comments/../../../pulls/9', headSha: HEAD, host: 'web' }),
      },
    });
    const r = await publish(dir);
    expect(r).toMatchObject({ action: 'created', issueNumber: 7 });
    const [c] = gh.comments;
    expect(gh.comments).toHaveLength(1);
    expect(c!.issue).toBe(7);
    expect(c!.body.split('\n')[0]).toBe(commentMarker('web', 555, HEAD));
    expect(c!.body).toContain('❌ **nixos-rehearse: FAIL**');
    expect(c!.body).not.toContain('evil.example');
    expect(c!.body).not.toContain('@everyone');
    expect(c!.body).toContain('@\u200boctocat &lt;img src=x&gt;');
  });

  it('skips a report whose pull request moved on (head.sha is not the run’s), and same-repository pull requests', async () => {
    const dir = artifacts('stale', { a: { 'report.json': JSON.stringify(report('web')) } });
    expect(await publish(dir, event({ head_sha: 'e'.repeat(40) }))).toMatchObject({ action: 'skipped', reason: expect.stringMatching(/head is c0ffee.*not the rehearsed e{40}: the report is stale/) });
    expect(await publish(dir, event({ head_repository: { full_name: 'acme/fleet', owner: { login: 'acme' } }, head_branch: 'other', head_sha: 'd'.repeat(40) }))).toMatchObject({ action: 'skipped', reason: expect.stringMatching(/from this repository/) });
    expect(gh.comments).toHaveLength(0);
  });

  it('never edits a comment carrying our marker that someone else wrote', async () => {
    const fake = gh.seed({ owner: 'acme', repo: 'fleet', issue: 7, login: 'mallory', body: `${commentMarker('web', 99999, HEAD)}\n✅ **nixos-rehearse: PASS**` });
    const r = await publish(artifacts('marker', { a: { 'report.json': JSON.stringify(report('web', { result: 'fail' })) } }));
    expect(r.action).toBe('created');
    expect(fake.body).toContain('PASS');
    expect(gh.comments.filter((c) => c.user.login === BOT)).toHaveLength(1);
  });

  it('cuts an oversized report to fit GitHub’s limit, and refuses reports that are not ours', async () => {
    const huge = report('web', { result: 'fail', steps: [{ id: 'task-12-install', task: 12, title: 'Install', status: 'fail', durationMs: 1, command: 'nixos-install', outputTail: 'x'.repeat(200_000) }] });
    const dir = artifacts('huge', { a: { 'report.json': JSON.stringify(huge) }, b: { 'report.json': '{"schema":1,"result":"pass","flake":"/w#x;rm -rf /"}' }, c: { 'report.json': 'not json' } });
    const { refused } = readReports(dir);
    expect(refused).toHaveLength(2);
    expect(refused.join('\n')).toMatch(/is not a nixos-rehearse report/);
    expect(refused.join('\n')).toMatch(/is not JSON/);
    const r = await publish(dir);
    expect(r).toMatchObject({ action: 'created', truncated: true });
    expect(gh.comments[0]!.body.length).toBeLessThanOrEqual(GITHUB_COMMENT_LIMIT);
  });
});

describe('a fleet of reports: one comment', () => {
  it('three hosts make one table, each report collapsed under it; a later run edits the same comment', async () => {
    const dir = artifacts('fleet', {
      'nixos-rehearse-web-zfs': { 'report.json': JSON.stringify(report('web')) },
      'nixos-rehearse-db-zfs-mirror': { 'report.json': JSON.stringify(report('db', { layout: 'zfs-mirror', result: 'fail', diagnosis: [{ id: 'pool-degraded', symptom: 's', cause: 'c', fix: 'f' }] })) },
      'nixos-rehearse-cache-ext4': { 'report.json': JSON.stringify(report('cache', { layout: 'ext4' })) },
    });
    expect(await publish(dir, event({ conclusion: 'success' }))).toMatchObject({ action: 'created' });
    const body = gh.comments[0]!.body;
    expect(body).toContain('❌ **nixos-rehearse: 2 of 3 passed** (hosts × layouts)');
    const rows = body.split('\n').filter((l) => /^\| `/.test(l));
    expect(rows).toEqual([
      '| `cache` | ext4 | ✅ pass | 5m 00s |  |',
      '| `db` | zfs-mirror | ❌ fail | 5m 00s | `pool-degraded` |',
      '| `web` | zfs | ✅ pass | 5m 00s |  |',
    ]);
    expect(body.match(/<details><summary>/g)).toHaveLength(3);
    expect(await publish(dir, event({ id: 556, conclusion: 'success' }))).toMatchObject({ action: 'updated' });
    expect(gh.comments).toHaveLength(1);
  });

  it('in the fleet’s own pull_request workflow, the event’s pull request is the target', async () => {
    const dir = artifacts('fleet-pr', { a: { 'report.json': JSON.stringify(report('web')) }, b: { 'report.json': JSON.stringify(report('db')) } });
    const { reports } = readReports(dir);
    const r = await publishReports(getOctokit(TOKEN, { baseUrl: gh.url }), { owner: 'acme', repo: 'fleet', reports, author: BOT, target: { issueNumber: 9, runId: 777, sha: 'd'.repeat(40) } });
    expect(r).toMatchObject({ action: 'created', issueNumber: 9 });
    expect(gh.comments[0]!.body).toContain('✅ **nixos-rehearse: 2 of 2 passed**');
  });

  it('a PASS from a run that did not succeed is flagged, not believed', () => {
    expect(renderPublished([report('web')], { conclusion: 'failure' })).toMatch(/^> ⚠️ The rehearsal run ended with conclusion `failure`, yet a report below says PASS/);
    expect(renderPublished([report('web')], { conclusion: 'success' })).toMatch(/^✅ \*\*nixos-rehearse: PASS\*\*/);
  });
});
