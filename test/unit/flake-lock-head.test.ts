// The lock-bump workflow: flake.lock updated in the job's checkout, compared with the committed
// one (a real git repository).
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { lockChangesAgainstHead } from '../../src/github/lock.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'nr-lock-head-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const git = (...a: string[]) => execFileSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@t', ...a], { stdio: 'ignore' });

it('reports the inputs a local `nix flake update` moved, and nothing when the lock is as committed', () => {
  git('init', '-q');
  writeFileSync(path.join(dir, 'flake.nix'), '{ }\n');
  copyFileSync('test/fixtures/flake-lock/base.flake.lock', path.join(dir, 'flake.lock'));
  git('add', '.');
  git('commit', '-qm', 'base');
  expect(lockChangesAgainstHead(`${dir}#server`)).toBeUndefined();
  copyFileSync('test/fixtures/flake-lock/head.flake.lock', path.join(dir, 'flake.lock'));
  const changes = lockChangesAgainstHead(`${dir}#server`)!;
  expect(changes.find((c) => c.input === 'nixpkgs')).toMatchObject({ change: 'updated' });
  expect(lockChangesAgainstHead(`${path.join(dir, 'nowhere')}#server`)).toBeUndefined();
});
