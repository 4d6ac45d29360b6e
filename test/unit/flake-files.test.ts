// What of the user's flake reaches the guest (#15 item 5): what Nix would see, and errors that
// name a command without carrying its payload.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CommandFailedError, shortCommand } from '../../src/console/shell.js';
import { flakeFiles } from '../../src/flake-files.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'flake-files-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const git = (dir: string, ...args: string[]) => execFileSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { stdio: 'pipe' });

describe('flakeFiles', () => {
  it('in a git repository: the tracked and staged files of the flake directory, nothing untracked, no nested .git', async () => {
    const repo = path.join(tmp, 'repo');
    mkdirSync(path.join(repo, 'hosts', 'web'), { recursive: true });
    git(tmp, 'init', '-q', repo);
    writeFileSync(path.join(repo, 'README.md'), 'outside the flake directory\n');
    writeFileSync(path.join(repo, 'hosts', 'web', 'flake.nix'), '{ }\n');
    writeFileSync(path.join(repo, 'hosts', 'web', 'configuration.nix'), '{ }\n');
    git(repo, 'add', '.');
    git(repo, 'commit', '-qm', 'init');
    writeFileSync(path.join(repo, 'hosts', 'web', 'staged.nix'), '{ }\n');
    git(repo, 'add', 'hosts/web/staged.nix');
    // What google-github-actions/auth leaves in the workspace, and a vendored repository.
    writeFileSync(path.join(repo, 'hosts', 'web', 'gha-creds-0123abcd.json'), '{"private_key": "…"}\n');
    mkdirSync(path.join(repo, 'hosts', 'web', 'vendor', '.git'), { recursive: true });
    writeFileSync(path.join(repo, 'hosts', 'web', 'vendor', '.git', 'config'), '[core]\n');
    expect(await flakeFiles(path.join(repo, 'hosts', 'web'))).toEqual(['configuration.nix', 'flake.nix', 'staged.nix']);
  });

  it('outside git: undefined (the whole directory is copied, without any .git)', async () => {
    const plain = path.join(tmp, 'plain');
    mkdirSync(plain);
    writeFileSync(path.join(plain, 'flake.nix'), '{ }\n');
    expect(await flakeFiles(plain)).toBeUndefined();
  });
});

describe('command text in errors', () => {
  it('is bounded: a copy of a 400 kB payload fails with a few hundred characters, its start and end kept', () => {
    const payload = 'A'.repeat(400_000);
    const cmd = `mkdir -p /tmp/rehearse/config && printf %s ${payload} | base64 -d | tar -xzf - -C /tmp/rehearse/config`;
    const e = new CommandFailedError(cmd, { exitCode: 2, output: 'tar: short read' });
    const first = e.message.split('\n')[0]!;
    expect(first.length).toBeLessThan(400);
    expect(first).toMatch(/^command failed with exit code 2: mkdir -p \/tmp\/rehearse\/config && printf %s A+ …\(\d+ characters\)… A+ \| base64 -d \| tar -xzf - -C \/tmp\/rehearse\/config$/);
    expect(e.message).toContain('tar: short read');
    expect(shortCommand('ls -la')).toBe('ls -la');
  });
});
