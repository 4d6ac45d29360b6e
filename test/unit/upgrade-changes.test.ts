// What an upgrade changes, from the real tools' output: nix store diff-closures (a real run of
// Nix 2.8's, and the lines of Nix's own documentation, src/nix/diff-closures.md), and
// switch-to-configuration-ng's unit lines (nixpkgs pkgs/by-name/sw/switch-to-configuration-ng/
// src/src/main.rs), and the reboot decision of nixpkgs' auto-upgrade.nix.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bootLinksCommand, needsReboot, parseBootLinks, parseDiffClosures, parseUnitChanges } from '../../src/upgrade/changes.js';

const real = readFileSync(new URL('../fixtures/upgrade/diff-closures-hello.txt', import.meta.url), 'utf8');

describe('parseDiffClosures', () => {
  it('reads a real run, colours and all: versions changed, added, removed, sizes', () => {
    expect(real).toContain('\x1b[31;1m');
    const d = parseDiffClosures(real);
    expect(d.packages).toEqual([
      { name: 'hello', removed: ['1.0'], added: ['2.0'], sizeDelta: Math.round(39.6 * 1024) },
      { name: 'hello', removed: ['2.0'], added: ['1.0'], sizeDelta: -Math.round(39.6 * 1024) },
      { name: 'gone', removed: ['1'], added: [] },
      { name: 'newpkg', removed: [], added: ['0.5'], sizeDelta: Math.round(12.0 * 1024) },
    ]);
    expect(d.sizeDelta).toBe(Math.round(12.0 * 1024));
  });

  it("reads Nix's documented lines: a size-only change, several versions, ε", () => {
    const d = parseDiffClosures(['acpi-call: 2020-04-07-5.8.16 → 2020-04-07-5.8.18', 'bluez-qt: +12.6 KiB', 'dolphin: 20.08.1 → 20.08.2, +13.9 KiB', 'kdeconnect: 20.08.2 → ∅, -6597.8 KiB', 'foo: 1.2, 1.3 → 1.4', 'bar: ε → 2'].join('\n'));
    expect(d.packages.map((p) => p.name)).toEqual(['acpi-call', 'bluez-qt', 'dolphin', 'kdeconnect', 'foo', 'bar']);
    expect(d.packages[1]).toEqual({ name: 'bluez-qt', removed: [], added: [], sizeDelta: Math.round(12.6 * 1024) });
    expect(d.packages[4]).toMatchObject({ removed: ['1.2', '1.3'], added: ['1.4'] });
    expect(d.packages[5]).toMatchObject({ removed: [''], added: ['2'] });
  });

  it('no change is no package (and not an error)', () => {
    expect(parseDiffClosures('')).toEqual({ packages: [], sizeDelta: 0 });
  });
});

describe('parseUnitChanges', () => {
  it("reads switch-to-configuration's lines", () => {
    const out = [
      'building the system configuration...',
      'stopping the following units: nginx.service, sshd.service',
      'activating the configuration...',
      'setting up /etc...',
      'reloading user units for alice...',
      'restarting sysinit-reactivation.target',
      'reloading the following units: dbus.service',
      'restarting the following units: systemd-journald.service',
      'starting the following units: sshd.service',
      'the following new units were started: postgresql.service',
      'warning: the following units failed: postgresql.service',
    ].join('\n');
    expect(parseUnitChanges(out)).toEqual({
      stopped: ['nginx.service', 'sshd.service'],
      restarted: ['systemd-journald.service'],
      started: ['sshd.service'],
      reloaded: ['dbus.service'],
      newlyStarted: ['postgresql.service'],
      failed: ['postgresql.service'],
    });
  });
});

describe('needsReboot', () => {
  const a = parseBootLinks('kernel=/nix/store/a-linux/bzImage\ninitrd=/nix/store/a-initrd/initrd\nkernel-modules=\nsystemd=/nix/store/s-systemd-257');
  it('the same kernel, initrd and systemd: no reboot', () => {
    expect(needsReboot(a, { ...a })).toEqual({ needed: false, because: [] });
  });
  it('a new kernel or initrd: a reboot, saying which', () => {
    expect(needsReboot(a, { ...a, kernel: '/nix/store/b-linux/bzImage', initrd: '/nix/store/b-initrd/initrd' })).toEqual({ needed: true, because: ['kernel', 'initrd'] });
  });
  it('reads each link of a system with one guest command', () => {
    expect(bootLinksCommand('/run/booted-system')).toContain('readlink /run/booted-system/kernel');
    expect(bootLinksCommand('/run/booted-system')).toContain('readlink /run/booted-system/systemd');
  });
});
