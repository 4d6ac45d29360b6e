// Upgrade mode in the action: the mode an event gets, and the base commit's flake checked out
// with real git — fetched first when the workspace (a shallow checkout, as actions/checkout
// makes it) does not have it.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execaSync } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveMode } from '../../src/action/inputs.js';
import { baseFlake } from '../../src/github/base-checkout.js';

describe('resolveMode', () => {
  it('auto: an upgrade for pull requests, an install for everything else', () => {
    expect(resolveMode('', 'pull_request')).toBe('upgrade');
    expect(resolveMode('auto', 'pull_request_target')).toBe('upgrade');
    for (const e of ['schedule', 'workflow_dispatch', 'push', undefined]) expect(resolveMode('auto', e)).toBe('install');
  });
  it('install and upgrade are taken as they are; anything else is an input error', () => {
    expect(resolveMode('install', 'pull_request')).toBe('install');
    expect(resolveMode('upgrade', 'schedule')).toBe('upgrade');
    expect(() => resolveMode('fresh', 'push')).toThrow(expect.objectContaining({ kind: 'input', message: expect.stringContaining('auto, install or upgrade') }));
  });
});

describe('baseFlake (real git)', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'nr-base-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const git = (cwd: string, ...args: string[]) => execaSync('git', ['-C', cwd, '-c', 'user.name=t', '-c', 'user.email=t@t', ...args]).stdout.trim();
  // origin: a base commit with the flake in infra/, then the pull request's commit changing it.
  const origin = path.join(root, 'origin');
  mkdirSync(path.join(origin, 'infra'), { recursive: true });
  git(root, 'init', '-q', '-b', 'main', origin);
  writeFileSync(path.join(origin, 'infra', 'flake.nix'), '{ outputs = _: { nixosConfigurations.web = 1; }; } # base\n');
  git(origin, 'add', '.');
  git(origin, 'commit', '-qm', 'base');
  const base = git(origin, 'rev-parse', 'HEAD');
  writeFileSync(path.join(origin, 'infra', 'flake.nix'), '{ outputs = _: { nixosConfigurations.web = 2; }; } # pull request\n');
  git(origin, 'commit', '-qam', 'pull request');
  // The workspace: only the head, one commit deep, as actions/checkout fetches it.
  const workspace = path.join(root, 'workspace');
  execaSync('git', ['clone', '-q', '--depth=1', `file://${origin}`, workspace]);

  it('fetches the missing base commit and checks its flake out beside the workspace', async () => {
    expect(() => git(workspace, 'cat-file', '-e', `${base}^{commit}`)).toThrow();
    const ref = await baseFlake(workspace, { dir: path.join(workspace, 'infra'), host: 'web' }, base, path.join(root, 'runner-temp'));
    expect(ref).toMatch(/runner-temp\/base-[0-9a-f]{12}\/infra#web$/);
    expect(readFileSync(path.join(ref!.split('#')[0]!, 'flake.nix'), 'utf8')).toContain('# base');
    // The workspace itself is untouched: still the pull request's configuration.
    expect(readFileSync(path.join(workspace, 'infra', 'flake.nix'), 'utf8')).toContain('# pull request');
  });

  it('a base without the flake (the pull request adds it): nothing to upgrade from', async () => {
    expect(await baseFlake(workspace, { dir: path.join(workspace, 'new-host'), host: 'web' }, base, path.join(root, 'runner-temp2'))).toBeUndefined();
  });

  it('refuses a base that is not a commit id, and a flake outside the workspace', async () => {
    await expect(baseFlake(workspace, { dir: path.join(workspace, 'infra'), host: 'web' }, 'main; rm -rf /', root)).rejects.toMatchObject({ kind: 'input' });
    await expect(baseFlake(workspace, { dir: '/etc', host: 'web' }, base, root)).rejects.toMatchObject({ kind: 'input' });
  });
});
