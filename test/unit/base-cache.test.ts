// Upgrade mode's cached base: the key changes with everything that determines the base and
// nothing else, and an entry whose disk is damaged (a real qcow2, its header overwritten, as
// real `qemu-img check` sees it) is discarded rather than booted.
import { existsSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execaSync } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { qemuImgBinary } from '../../src/qemu/tools.js';
import { type BaseKeyParts, baseCacheKey, configFiles, harnessFingerprint, usableBase } from '../../src/upgrade/base-cache.js';

const parts: BaseKeyParts = { isoSha256: 'a'.repeat(64), files: { 'flake.nix': '1', 'flake.lock': '2' }, host: 'server', layout: 'zfs', disks: 1, diskSize: '8G', harness: harnessFingerprint() };

describe('baseCacheKey', () => {
  it('is stable, whatever the order of the files', () => {
    expect(baseCacheKey(parts)).toBe(baseCacheKey({ ...parts, files: { 'flake.lock': '2', 'flake.nix': '1' } }));
    expect(baseCacheKey(parts)).toMatch(/^[0-9a-f]{24}$/);
  });
  it('changes with the ISO, a file (flake.lock too), the host, the layout, the disks and the harness', () => {
    const k = baseCacheKey(parts);
    for (const other of [
      { ...parts, isoSha256: 'b'.repeat(64) },
      { ...parts, files: { ...parts.files, 'flake.lock': '3' } },
      { ...parts, files: { ...parts.files, 'hosts/web.nix': '4' } },
      { ...parts, host: 'web' },
      { ...parts, layout: 'zfs-mirror', disks: 2 },
      { ...parts, diskSize: '20G' },
      { ...parts, harness: 'another' },
    ]) expect(baseCacheKey(other)).not.toBe(k);
  });
});

describe('configFiles and usableBase', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'nr-basecache-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('hashes each file of the configuration', async () => {
    const dir = path.join(root, 'cfg');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'flake.nix'), '{ }');
    mkdirSync(path.join(dir, 'hosts'));
    writeFileSync(path.join(dir, 'hosts', 'web.nix'), '{ }\n');
    const f = await configFiles(dir);
    expect(Object.keys(f).sort()).toEqual(['flake.nix', 'hosts/web.nix']);
    expect(f['flake.nix']).toMatch(/^[0-9a-f]{64}$/);
    expect(f['flake.nix']).not.toBe(f['hosts/web.nix']);
  });

  const entry = (name: string) => {
    const dir = path.join(root, name);
    mkdirSync(dir);
    const disk = path.join(dir, 'disk0.qcow2');
    execaSync(qemuImgBinary(), ['create', '-q', '-f', 'qcow2', disk, '64M']);
    writeFileSync(path.join(dir, 'installed.json'), JSON.stringify({ schema: 1, layout: 'zfs', flake: '/x#server', host: 'server', disks: [{ id: 'disk0', serial: 'S', file: disk }], efiVars: path.join(dir, 'efivars.fd'), toplevel: '', espPartuuids: [], injected: [], vmHardware: '', sshPublicKey: '', sshPrivateKeyFile: '', savedAt: '' }));
    return { dir, disk };
  };

  it('a sound entry is used', async () => {
    const { dir } = entry('sound');
    expect(await usableBase(dir)).toEqual({ ok: true });
    expect(existsSync(dir)).toBe(true);
  });

  it('a damaged disk image is found by qemu-img check, and the entry discarded', async () => {
    const { dir, disk } = entry('damaged');
    // Overwrite the qcow2 L1 table offset and refcount table: what a torn write would leave.
    const fd = openSync(disk, 'r+');
    writeSync(fd, Buffer.alloc(64, 0xff), 0, 64, 40);
    closeSync(fd);
    const u = await usableBase(dir);
    expect(u.ok).toBe(false);
    expect(!u.ok && u.why).toMatch(/disk0\.qcow2|qcow2|Could not open/);
    expect(existsSync(dir)).toBe(false);
  });

  it('an entry whose disk is gone is discarded, saying which', async () => {
    const { dir, disk } = entry('gone');
    rmSync(disk);
    const u = await usableBase(dir);
    expect(!u.ok && u.why).toMatch(/disk .*disk0\.qcow2 is missing/);
    expect(existsSync(dir)).toBe(false);
  });
});
