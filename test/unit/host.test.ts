import { chmodSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { aptInstall, cacheDir, commandPath, hasCommand, missingPackages } from '../../src/host.js';

describe('cacheDir (the one cache directory: engine, CLI, action and the vm/ scripts)', () => {
  it('is $XDG_CACHE_HOME/nixos-rehearse, else ~/.cache/nixos-rehearse', () => {
    expect(cacheDir({ XDG_CACHE_HOME: '/x', HOME: '/home/u' })).toBe('/x/nixos-rehearse');
    expect(cacheDir({ HOME: '/home/u' })).toBe('/home/u/.cache/nixos-rehearse');
    expect(cacheDir({ HOME: '/home/u', RUNNER_TOOL_CACHE: '/opt/hostedtoolcache' })).toBe('/home/u/.cache/nixos-rehearse');
  });
  it('on a runner (the action), $RUNNER_TOOL_CACHE/nixos-rehearse when set', () => {
    expect(cacheDir({ HOME: '/home/u', RUNNER_TOOL_CACHE: '/opt/hostedtoolcache' }, { runner: true })).toBe('/opt/hostedtoolcache/nixos-rehearse');
    expect(cacheDir({ HOME: '/home/u', XDG_CACHE_HOME: '/x' }, { runner: true })).toBe('/x/nixos-rehearse');
  });
  it('the vm/ scripts use the same function', async () => {
    const guest = await import('../../vm/build-test-guest.mjs' as string);
    expect(guest.cacheRoot()).toBe(cacheDir());
  });
});

describe('commandPath (what `command -v` answers for a program)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'host-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const bin = path.join(dir, 'bin');
  mkdirSync(bin);
  writeFileSync(path.join(bin, 'tool'), '#!/bin/sh\n');
  chmodSync(path.join(bin, 'tool'), 0o755);
  writeFileSync(path.join(bin, 'plain'), 'not executable\n');
  mkdirSync(path.join(bin, 'adir'));

  it('finds the first executable file of that name on PATH', () => {
    expect(commandPath('tool', { PATH: `/nonexistent:${bin}` })).toBe(path.join(bin, 'tool'));
    expect(hasCommand('tool', { PATH: bin })).toBe(true);
  });
  it('skips files that are not executable, and directories', () => {
    expect(commandPath('plain', { PATH: bin })).toBeUndefined();
    expect(commandPath('adir', { PATH: bin })).toBeUndefined();
    expect(hasCommand('missing', { PATH: bin })).toBe(false);
  });
  it('takes a name with a slash as a path', () => {
    expect(commandPath(path.join(bin, 'tool'), { PATH: '' })).toBe(path.join(bin, 'tool'));
    expect(commandPath(path.join(bin, 'plain'), { PATH: bin })).toBeUndefined();
  });
  it('agrees with the shell’s `command -v sh`', () => {
    expect(commandPath('sh')).toMatch(/\/sh$/);
  });
});

describe('missingPackages and aptInstall (system packages the tests need: install them, or say the exact command)', () => {
  const tools = { 'qemu-system-x86_64': 'qemu-system-x86', 'qemu-img': 'qemu-utils', cpio: 'cpio', ssh: 'openssh-client', 'ssh-keygen': 'openssh-client' };
  it('lists each missing package once, in order', () => {
    expect(missingPackages(tools, (c) => c === 'cpio')).toEqual(['qemu-system-x86', 'qemu-utils', 'openssh-client']);
    expect(missingPackages(tools, () => true)).toEqual([]);
  });
  it('nothing missing: nothing to do', () => {
    expect(aptInstall([], { root: true, passwordlessSudo: false })).toBeUndefined();
  });
  it('as root: runs apt-get itself', () => {
    const p = aptInstall(['qemu-utils', 'ovmf'], { root: true, passwordlessSudo: false })!;
    expect(p.run).toEqual(['sh', '-c', 'apt-get update && apt-get install -y --no-install-recommends qemu-utils ovmf']);
    expect(p.command).toBe("sudo sh -c 'apt-get update && apt-get install -y --no-install-recommends qemu-utils ovmf'");
  });
  it('with passwordless sudo: through sudo -n', () => {
    expect(aptInstall(['ovmf'], { root: false, passwordlessSudo: true })!.run).toEqual(['sudo', '-n', 'sh', '-c', 'apt-get update && apt-get install -y --no-install-recommends ovmf']);
  });
  it('otherwise, or without apt-get: nothing to run, and the exact command to give', () => {
    const p = aptInstall(['ovmf'], { root: false, passwordlessSudo: false })!;
    expect(p.run).toBeUndefined();
    expect(p.command).toBe("sudo sh -c 'apt-get update && apt-get install -y --no-install-recommends ovmf'");
    const q = aptInstall(['ovmf'], { root: true, passwordlessSudo: true, aptGet: false })!;
    expect(q.run).toBeUndefined();
    expect(q.noApt).toBe(true);
  });
});

describe('systemPackagesPlan (the VM tests’ global setup: which packages are missing → which command)', async () => {
  const { systemPackagesPlan, VM_TEST_TOOLS } = await import('../helpers/system-packages.js');
  const base = { root: false, passwordlessSudo: false, aptGet: true };
  it('nothing missing: nothing to do', () => {
    expect(systemPackagesPlan({ ...base, has: () => true, firmware: true })).toBeUndefined();
  });
  it('no QEMU and no OVMF: both packages, qemu-utils with them, and the exact command', () => {
    const p = systemPackagesPlan({ ...base, has: (c) => !c.startsWith('qemu'), firmware: false })!;
    expect(p.packages).toEqual(['qemu-system-x86', 'qemu-utils', 'ovmf']);
    expect(p.run).toBeUndefined();
    expect(p.command).toBe("sudo sh -c 'apt-get update && apt-get install -y --no-install-recommends qemu-system-x86 qemu-utils ovmf'");
  });
  it('as root it installs them itself', () => {
    expect(systemPackagesPlan({ ...base, root: true, has: (c) => c !== 'cpio', firmware: true })!.run).toEqual(['sh', '-c', 'apt-get update && apt-get install -y --no-install-recommends cpio']);
  });
  it('covers QEMU, qemu-img and the SSH client', () => {
    expect(Object.values(VM_TEST_TOOLS)).toEqual(expect.arrayContaining(['qemu-system-x86', 'qemu-utils', 'openssh-client']));
  });
});
