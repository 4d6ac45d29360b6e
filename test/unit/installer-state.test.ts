// The saved installer's cache key and its cache housekeeping (the save and restore themselves
// run in test/vm/snapshot.test.ts).
import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { installerStateKey, installerStatesDir, pruneInstallerStates, readInstallerState } from '../../src/installer-state.js';

const base = { isoSha256: 'a'.repeat(64), memoryMiB: 2048, cpus: 2, accel: 'tcg' as const, qemuVersion: '7.2.22', cpuModel: 'max', append: 'init=/nix/store/x/init root=LABEL=nixos-minimal-25.11-x86_64 console=ttyS0,115200n8' };

describe('installerStateKey', () => {
  it('changes with everything that makes the saved installer, and only with that', () => {
    const k = installerStateKey(base);
    expect(k).toMatch(/^[0-9a-f]{24}$/);
    expect(installerStateKey({ ...base })).toBe(k);
    for (const change of [{ isoSha256: 'b'.repeat(64) }, { memoryMiB: 4096 }, { cpus: 1 }, { accel: 'kvm' as const },  { qemuVersion: '8.2.2' }, { cpuModel: 'qemu64' }, { append: `${base.append} quiet` }]) {
      expect(installerStateKey({ ...base, ...change }), JSON.stringify(change)).not.toBe(k);
    }
  });
});

describe('the saved installers in a cache', () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
  const cache = () => {
    const d = mkdtempSync(path.join(os.tmpdir(), 'nixos-rehearse-states-'));
    dirs.push(d);
    return d;
  };
  const make = (c: string, name: string, ageS: number, complete = true) => {
    const d = path.join(installerStatesDir(c), name);
    mkdirSync(d, { recursive: true });
    if (complete) {
      writeFileSync(path.join(d, 'state.zst'), 'x');
      writeFileSync(path.join(d, 'efivars.fd'), 'x');
      writeFileSync(path.join(d, 'manifest.json'), JSON.stringify({ key: name, dir: '/elsewhere', state: '/elsewhere/state.zst' }));
    }
    const t = Date.now() / 1000 - ageS;
    utimesSync(d, t, t);
    return d;
  };

  it('reads a complete one wherever its directory is now; an incomplete one is none', () => {
    const c = cache();
    const d = make(c, 'k1', 0);
    expect(readInstallerState(d)).toMatchObject({ key: 'k1', dir: d, state: path.join(d, 'state.zst'), efiVars: path.join(d, 'efivars.fd') });
    expect(readInstallerState(make(c, 'k2', 0, false))).toBeUndefined();
  });

  it('keeps the newest few and removes the leftovers of saves whose process is gone', () => {
    const c = cache();
    for (let i = 0; i < 6; i++) make(c, `k${i}`, i * 100);
    make(c, '.new-999999999-dead', 0, false);
    make(c, `.new-${process.pid}-mine`, 0, false);
    pruneInstallerStates(c, 4);
    expect(readdirSync(installerStatesDir(c)).sort()).toEqual([`.new-${process.pid}-mine`, 'k0', 'k1', 'k2', 'k3']);
  });
});
