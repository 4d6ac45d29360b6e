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
    expect(i).toMatchObject({ flake: `${ws}#web`, host: 'web', iso: DEFAULT_ISO, layout: 'zfs', diskSize: '20G', memoryMiB: 4096, cpus: 2, accel: 'auto', network: 'internet', networkAllow: [], rebuild: true, reuseInstaller: false, comment: true, phaseTimeoutMinutes: 0, warnings: [] });
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
    expect(() => read({ memory: '512' })).toThrow(/input memory must be a whole number of MiB from 1024 to 262144 \(got '512'\)/);
    expect(() => read({ rebuild: 'yes' })).toThrow(/input rebuild must be true or false, got 'yes'/);
    expect(() => read({ 'iso-sha256': 'abc' })).toThrow(/iso-sha256 must be 64 hex digits/);
    expect(() => read({ 'disk-size': '20 GB' })).toThrow(/input disk-size must be a size like 20G, from 4G to 2T/);
    expect(() => read({ accel: 'warp' })).toThrow(/input accel must be auto, kvm or tcg, got warp/);
    expect(() => read({ network: 'lan' })).toThrow("input network must be internet or none (got 'lan')");
    expect(() => read({ 'network-allow': 'cache.lan' })).toThrow("input network-allow entry 'cache.lan' is not an IP address or ADDRESS/PREFIX block (e.g. 10.1.2.3 or 10.1.0.0/16)");
    expect(() => read({ network: 'none', 'network-allow': '10.1.2.3' })).toThrow('input network-allow has no effect with network none: the VM reaches nothing');
  });

  it('network-allow: a private binary cache reached besides the public internet, words split on spaces and commas', () => {
    expect(read({ 'network-allow': '10.1.2.3, 192.168.0.0/16\nfd00::/8' })).toMatchObject({ network: 'internet', networkAllow: ['10.1.2.3', '192.168.0.0/16', 'fd00::/8'] });
    expect(read({ network: 'none' }).network).toBe('none');
  });

  it('bounds every number and refuses a host name that is not a Nix attribute name (#15 items 6 and 9)', () => {
    // Each of these went through before: a timer past 2^31 ms fires at once, a host name reached
    // guest commands unquoted, Nix strings and the output path.
    for (const v of ['40000', 'Infinity', '-5', '1e9', '2.5']) expect(() => read({ 'phase-timeout-minutes': v }), v).toThrow(/input phase-timeout-minutes must be a whole number of minutes from 1 to 1440/);
    expect(read({ 'phase-timeout-minutes': '0' }).phaseTimeoutMinutes).toBe(0);
    expect(() => read({ memory: '99999999' })).toThrow(/input memory must be a whole number of MiB from 1024 to 262144 \(got '99999999'\)/);
    expect(() => read({ cpus: '0' })).toThrow(/input cpus must be a whole number of CPUs from 1 to 64/);
    expect(() => read({ cpus: '1000' })).toThrow(/input cpus must be a whole number of CPUs from 1 to 64/);
    for (const v of ['1M', '3G', '9T', '0G']) expect(() => read({ 'disk-size': v }), v).toThrow(/input disk-size must be a size like 20G, from 4G to 2T/);
    expect(read({ 'disk-size': '4096M' }).diskSize).toBe('4096M');
    for (const host of ['x;touch /tmp/pwn', '../../../escape/x', '${builtins.readFile /etc/passwd}', "it's", '9lives', '-rf'])
      expect(() => read({ flake: `#${host}` }), host).toThrow(/input flake: the host must be a Nix attribute name of letters, digits, _ and -/);
  });

  it('takes YAML booleans and a local ISO relative to the workspace', () => {
    const i = read({ rebuild: 'False', comment: 'TRUE', iso: 'isos/nixos.iso', 'phase-timeout-minutes': '20', 'reuse-installer': 'true' });
    expect(i).toMatchObject({ rebuild: false, reuseInstaller: true, comment: true, iso: path.join(ws, 'isos/nixos.iso'), phaseTimeoutMinutes: 20, warnings: [] });
  });

  it('phase-timeout-minutes, and the old name timeout-minutes (#14 item 8) still taken with a deprecation warning', () => {
    const old = read({ 'timeout-minutes': '25' });
    expect(old.phaseTimeoutMinutes).toBe(25);
    expect(old.warnings).toEqual([expect.stringMatching(/^input timeout-minutes is deprecated: .* Rename it phase-timeout-minutes\.$/)]);
    expect(() => read({ 'timeout-minutes': '40000' })).toThrow(/input timeout-minutes must be a whole number of minutes from 1 to 1440/);
    // Both given: the new name wins, nothing to warn about.
    expect(read({ 'timeout-minutes': '25', 'phase-timeout-minutes': '30' })).toMatchObject({ phaseTimeoutMinutes: 30, warnings: [] });
  });
});
