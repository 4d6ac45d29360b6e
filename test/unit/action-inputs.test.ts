// The action's inputs as a user writes them in a workflow: defaults, the flake's host taken from
// flake.nix, and a clear error for each mistake.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_ISO, readInputs } from '../../src/action/inputs.js';

const ws = mkdtempSync(path.join(os.tmpdir(), 'nr-inputs-'));
afterAll(() => rmSync(ws, { recursive: true, force: true }));
writeFileSync(path.join(ws, 'flake.nix'), '{ outputs = { self, nixpkgs }: { nixosConfigurations.web = nixpkgs.lib.nixosSystem { modules = [ ./web.nix ]; }; }; }\n');
mkdirSync(path.join(ws, 'fleet'));
writeFileSync(path.join(ws, 'fleet', 'flake.nix'), '{ outputs = { nixpkgs, ... }: { nixosConfigurations = { db = mk ./db.nix; cache = mk ./cache.nix; }; }; }\n');

const read = (inputs: Record<string, string>, env: Record<string, string> = {}) => readInputs((n) => inputs[n] ?? '', { GITHUB_WORKSPACE: ws, ...env });

describe('action inputs', () => {
  it('defaults: the single host of the root flake, the NixOS 25.11 ISO, zfs, rebuild on, comment on pull requests only', () => {
    const i = read({ 'github-token': 'ghs_x' }, { GITHUB_EVENT_NAME: 'pull_request' });
    expect(i).toMatchObject({ flake: `${ws}#web`, host: 'web', iso: DEFAULT_ISO, layout: 'zfs', diskSize: '20G', memoryMiB: 4096, cpus: 2, accel: 'auto', rebuild: true, reuseInstaller: false, comment: true, timeoutMinutes: 0 });
    expect(DEFAULT_ISO).toBe('https://channels.nixos.org/nixos-25.11/latest-nixos-minimal-x86_64-linux.iso');
    expect(read({}, { GITHUB_EVENT_NAME: 'schedule' }).comment).toBe(false);
  });

  it('lists the hosts when a flake declares several and none is named', () => {
    expect(() => read({ flake: 'fleet' })).toThrow(/declares several hosts \(db, cache\); pass one as '<dir>#<host>'/);
    expect(read({ flake: 'fleet#cache' }).flake).toBe(`${path.join(ws, 'fleet')}#cache`);
    expect(() => read({ flake: 'fleet#web' })).toThrow(/has no nixosConfigurations\.web; it declares: db, cache/);
  });

  it('says what to do on each bad input', () => {
    expect(() => read({ flake: 'nowhere#x' })).toThrow(/no flake\.nix in .*nowhere\. Check the repository out first/);
    expect(() => read({ flake: 'github:me/cfg#x' })).toThrow(/must be a directory in the checked-out repository/);
    expect(() => read({ layout: 'raid5' })).toThrow(/input layout must be one of zfs, zfs-mirror, ext4, btrfs \(got 'raid5'\)/);
    expect(() => read({ memory: '512' })).toThrow(/input memory must be a whole number of MiB, at least 1024 \(got '512'\)/);
    expect(() => read({ rebuild: 'yes' })).toThrow(/input rebuild must be true or false, got 'yes'/);
    expect(() => read({ 'iso-sha256': 'abc' })).toThrow(/iso-sha256 must be 64 hex digits/);
    expect(() => read({ 'disk-size': '20 GB' })).toThrow(/disk-size takes a size like 20G/);
    expect(() => read({ accel: 'warp' })).toThrow(/input accel must be auto, kvm or tcg, got warp/);
  });

  it('takes YAML booleans and a local ISO relative to the workspace', () => {
    const i = read({ rebuild: 'False', comment: 'TRUE', iso: 'isos/nixos.iso', 'timeout-minutes': '20', 'reuse-installer': 'true' });
    expect(i).toMatchObject({ rebuild: false, reuseInstaller: true, comment: true, iso: path.join(ws, 'isos/nixos.iso'), timeoutMinutes: 20 });
  });
});
