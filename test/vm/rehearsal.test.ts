// `nixos-rehearse run` on the fixture installer: the runbook's Tasks 1–13 for each layout,
// report.json as documented, and the refusals that must happen before anything boots.
import { execFileSync } from 'node:child_process';
import { closeSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { PULL_REQUEST_PATH, PULL_REQUEST_SERVICE, pullRequestFlake } from '../../src/demo-upgrade.js';
import { qemuImgBinary } from '../../src/qemu/tools.js';
import type { Report } from '../../src/report.js';
import { runRehearsal } from '../../src/rehearsal.js';
import { readSavedInstall } from '../../src/rehearsal.js';
import { usableBase } from '../../src/upgrade/base-cache.js';
import { expectFullRun } from '../helpers/full-run.js';
import { expectInstalledZfsMirror } from '../helpers/installed-details.js';
import { installedBaseDir, makingInstalledBase, shared } from '../helpers/shared.js';

const fx = inject('fixture');
// faults.test.ts, in the other lane, waits for the zfs-mirror base this file keeps.
afterAll(makingInstalledBase('zfs-mirror'));
const out = (name: string) => path.resolve('nixos-rehearse-out', 'test-runs', `${name}-${Date.now()}`);
const readReport = (p: string) => JSON.parse(readFileSync(p, 'utf8')) as Report;
/**
 * A cache entry for `dir` as a broken restore leaves it: installed.json and both disks present,
 * the second disk's qcow2 header torn (its L1 table and refcount table offsets overwritten).
 */
function damagedBase(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const disks = ['disk0', 'disk1'].map((id, i) => {
    const file = path.join(dir, `${id}.qcow2`);
    execFileSync(qemuImgBinary(), ['create', '-q', '-f', 'qcow2', file, '8G']);
    return { id, serial: `NRCACHED${i}`, file };
  });
  const fd = openSync(disks[1]!.file, 'r+');
  writeSync(fd, Buffer.alloc(64, 0xff), 0, 64, 40);
  closeSync(fd);
  writeFileSync(path.join(dir, 'installed.json'), JSON.stringify({ schema: 1, layout: 'zfs-mirror', flake: `${fx.flake}#server`, host: 'server', disks, efiVars: path.join(dir, 'efivars.fd'), toplevel: '/nix/store/00000000000000000000000000000000-nixos-system-server-25.11', espPartuuids: [], injected: [], vmHardware: '', sshPublicKey: '', sshPrivateKeyFile: '', savedAt: new Date().toISOString() }));
  writeFileSync(path.join(dir, 'efivars.fd'), Buffer.alloc(0));
}

/** The fixture's flake with sshd letting passwords in (nixpkgs sshd.nix's default, made explicit). */
function passwordFlake(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'flake-passwords-'));
  cpSync(fx.flake, d, { recursive: true });
  const cfg = path.join(d, 'configuration.nix');
  const text = readFileSync(cfg, 'utf8');
  if (!text.includes('settings.PasswordAuthentication = false;')) throw new Error(`${cfg} no longer sets PasswordAuthentication = false`);
  writeFileSync(cfg, text.replace('settings.PasswordAuthentication = false;', 'settings.PasswordAuthentication = true;'));
  return d;
}

describe('nixos-rehearse run on the fixture ISO', () => {
  // One full rehearsal per root kind in the gate: zfs-mirror in upgrade mode from a fresh base
  // (the install and its checks, the upgrade to a pull request, the reboot into it, both
  // rollbacks; its base is kept in upgrade mode's cache for faults.test.ts), btrfs to the checks
  // here, ext4 to the checks through the action bundle (action.test.ts). Each starts from the
  // installer the global setup booted and saved; the zfs layout's Tasks 1–8 run verbatim in
  // fixture.test.ts and its install in faults.test.ts. Install mode's rebuild to generation 2 is
  // the upgrade's own code (phases/upgrade.ts buildSwitchVerify, the same rollback) on the same
  // configuration: the upgrade here runs it.
  //
  // The fixture's flake is written as for a real server (static address on a NIC the VM does not
  // have, DHCP off, only PasswordAuthentication = false, neededForBoot on /persist): the VM
  // reaches the network through the harness alone. The btrfs run's copy sets
  // PasswordAuthentication = true: its password login gets in, and only that check is red.
  it('zfs-mirror in upgrade mode: a damaged cached base is discarded, the base installed afresh (Tasks 1–13) and checked, upgraded to the pull request, rebooted into and rolled back, all green (#16)', async () => {
    const lines: string[] = [];
    const dir = out('upgrade-zfs-mirror');
    const layout = 'zfs-mirror';
    // The Actions cache restored a base whose second disk is damaged (a torn write over the
    // qcow2 header's L1 table and refcount table offsets): it must not be booted.
    const cached = await installedBaseDir(layout);
    damagedBase(cached);
    // The pull request of demo --upgrade: files under /etc changed, a service added.
    const pr = pullRequestFlake(fx.flake);
    const r = await runRehearsal({
      iso: fx.iso, flake: `${pr}#server`, upgradeFrom: `${fx.flake}#server`, layout, diskSize: '8G', outDir: dir, log: (l) => lines.push(l),
      // The fixture builds offline: its VMs reach nothing (#15 item 12); DHCP and SSH still work (vm-network, ssh-login).
      network: 'none',
      cacheDir: shared().cacheDir, reuseInstaller: true,
      // The installed system's details, in the running VM after the base's checks (test/helpers/installed-details.ts).
      events: { verified: expectInstalledZfsMirror },
    });
    const report = readReport(r.reportPath);
    console.log(`${layout}: ${report.phases.map((p) => `${p.id} ${(p.durationMs / 1000).toFixed(1)}s`).join(', ')}`);
    expectFullRun(report, { layout, rebuild: false, upgrade: true, lines, exitCode: r.exitCode, flake: `${pr}#server` });
    // The damaged entry was found before anything booted, said, and not used.
    expect(report.base?.cacheFallback).toMatch(/^its disk disk1\.qcow2 fails qemu-img check \(exit \d+\)/);
    expect(lines.some((l) => l.includes(`the cached base ${cached} cannot be used (its disk disk1.qcow2 fails qemu-img check`) && l.includes('the base installed afresh'))).toBe(true);
    expect(report.installedFrom).toBeUndefined();
    // Every post-boot check ran on each system: the base, the upgrade, and (the ones that show
    // it is back) the base after the rollback at boot.
    const on = (system: string) => report.checks.filter((c) => c.system === system).map((c) => c.id);
    expect(on('upgraded')).toEqual(on('base'));
    expect(on('rolled-back')).toEqual(['booted-system', 'failed-units', 'sshd', 'ssh-login']);
    expect(report.checks.find((c) => c.id === 'generations' && c.system === 'upgraded')?.summary).toMatch(/^2 generation\(s\); generation 2 is current/);
    // What the pull request changes: its new service started by the switch, the closure read, no reboot needed.
    expect(report.changes?.from).toBe(report.base?.toplevel);
    expect(report.changes?.to).not.toBe(report.changes?.from);
    expect(report.changes?.units?.newlyStarted).toEqual([PULL_REQUEST_SERVICE]);
    expect(report.changes?.units?.failed).toEqual([]);
    // The new store path it links from /etc, as diff-closures lists a new package.
    expect(report.changes?.closure?.packages).toEqual([{ name: PULL_REQUEST_PATH.name, removed: [], added: [PULL_REQUEST_PATH.version] }]);
    expect(report.changes?.reboot).toEqual({ needed: false, because: [] });
    expect(readFileSync(path.join(dir, 'report.md'), 'utf8')).toContain(PULL_REQUEST_SERVICE);
    // The fresh base is in the cache now, sound, under the key the next run computes: the base
    // faults.test.ts's warm upgrade starts from.
    expect(await usableBase(cached)).toEqual({ ok: true });
    const kept = readSavedInstall(cached);
    expect(kept.toplevel).toBe(report.base?.toplevel);
    expect(kept.toplevel).toMatch(/^\/nix\/store\/[0-9a-z]{32}-nixos-system-server-25\.11/);
    expect(kept.disks.map((d) => [d.id, existsSync(d.file)])).toEqual([['disk0', true], ['disk1', true]]);
    expect(kept.injected.map((i) => path.basename(i.file))).toEqual(['flake.nix', 'harness.nix', 'vm-hardware.nix']);
    expect(report.network).toBe('none');
    // Tried, not read off the offered methods: NixOS offers keyboard-interactive by default.
    expect(report.checks.find((c) => c.id === 'password-login-refused' && c.system === 'base')?.summary).toBe('a password login as rehearse (who has a password) was refused; the server offers: publickey,keyboard-interactive');
    expect(report.checks.find((c) => c.id === 'vm-network' && c.system === 'upgraded')?.summary).toBe("QEMU's NIC rehearse0 (MAC 52:54:00:12:34:56) has 10.0.2.15/24");
    expect(report.iso.restoredFrom).toBe(shared().installerState);
    rmSync(pr, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
    // Four boots of the installed system (base, upgrade, rollback at boot) after the install:
    // twice and a half the default 10 minutes a VM test gets, scaled with the measured speed.
  }, Math.round(1_500_000 * Math.max(1, inject('speedFactor') ?? 1)));

  it('btrfs passes Tasks 1–13 and its checks, red only on the password login its flake lets in', async () => {
    const lines: string[] = [];
    const layout = 'btrfs';
    const dir = out(`run-${layout}`);
    const flakeDir = passwordFlake();
    const r = await runRehearsal({
      iso: fx.iso, flake: `${flakeDir}#server`, layout, diskSize: '8G', outDir: dir, rebuild: false, log: (l) => lines.push(l),
      network: 'none', cacheDir: shared().cacheDir, reuseInstaller: true,
    });
    const report = readReport(r.reportPath);
    console.log(`${layout}: ${report.phases.map((p) => `${p.id} ${(p.durationMs / 1000).toFixed(1)}s`).join(', ')}`);
    expectFullRun(report, { layout, rebuild: false, lines, exitCode: r.exitCode, flake: `${flakeDir}#server`, red: { check: 'password-login-refused', diagnosis: 'password-login-accepted' } });
    expect(report.checks.find((c) => c.id === 'password-login-refused')!.summary).toBe('a password login as rehearse got in');
    expect(report.checks.find((c) => c.id === 'vm-network')?.summary).toBe("QEMU's NIC rehearse0 (MAC 52:54:00:12:34:56) has 10.0.2.15/24");
    expect(report.network).toBe('none');
    rmSync(flakeDir, { recursive: true, force: true });
    // Restored, not booted: the installer the global setup saved, this run's disks plugged in.
    expect(report.iso.restoredFrom).toBe(shared().installerState);
    expect(lines.some((l) => /restored the installer saved on .*; disks plugged in: NR\w+D0/.test(l))).toBe(true);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('nixos-rehearse run refuses bad input before anything boots', () => {
  const refuse = async (name: string, opts: { flake?: string; sha256?: string; layout?: string }) => {
    const dir = out(name);
    const lines: string[] = [];
    const t0 = Date.now();
    const r = await runRehearsal({ iso: fx.iso, flake: opts.flake ?? `${fx.flake}#server`, sha256: opts.sha256, layout: opts.layout ?? 'zfs', outDir: dir, log: (l) => lines.push(l) });
    const report = readReport(r.reportPath);
    expect(r.exitCode).toBe(1);
    expect(report.result).toBe('fail');
    expect(report.phases).toEqual([]); // nothing booted
    expect(Date.now() - t0).toBeLessThan(30_000);
    rmSync(dir, { recursive: true, force: true });
    return report.error?.message ?? '';
  };

  it('a flake reference without #host', async () => {
    expect(await refuse('no-host', { flake: fx.flake })).toMatch(/names no host: write it as <path-or-url>#<host>/);
  });

  it('a flake without that host, listing the hosts it has', async () => {
    expect(await refuse('unknown-host', { flake: `${fx.flake}#webserver` })).toMatch(/has no nixosConfigurations\.webserver; it declares: server/);
  });

  it('a wrong sha256', async () => {
    expect(await refuse('bad-sha', { sha256: '0'.repeat(64) })).toMatch(/checksum mismatch .* expected sha256 0{64}, got [0-9a-f]{64}\. Nothing was booted\./);
  });

  it('an unknown layout', async () => {
    expect(await refuse('bad-layout', { layout: 'xfs' })).toMatch(/unknown layout 'xfs'/);
  });

  it('a flake directory without flake.nix', async () => {
    const d = mkdtempSync(path.join(os.tmpdir(), 'not-a-flake-'));
    cpSync(fx.flake, d, { recursive: true });
    rmSync(path.join(d, 'flake.nix'));
    writeFileSync(path.join(d, 'README'), 'no flake here\n');
    expect(await refuse('no-flake-nix', { flake: `${d}#server` })).toMatch(/has no flake\.nix/);
    rmSync(d, { recursive: true, force: true });
  });
});

describe('the wrong-disk guard in the VM', () => {
  it('refuses disks whose serials the run did not assign, before any write', async () => {
    const dir = out('foreign-disk');
    const workDir = mkdtempSync(path.join(os.tmpdir(), 'rehearse-foreign-'));
    try {
      const r = await runRehearsal({ iso: fx.iso, flake: `${fx.flake}#server`, layout: 'zfs', diskSize: '8G', outDir: dir, workDir, keep: true, diskSerials: ['SOMEONESDISK0'], cacheDir: shared().cacheDir, reuseInstaller: true });
      const report = readReport(r.reportPath);
      expect(r.exitCode).toBe(1);
      const t2 = report.steps.find((s) => s.id === 'task-02-disks')!;
      expect(t2.status).toBe('fail');
      expect(t2.problems?.join('\n')).toMatch(/wrong-disk guard: the disk the engine created with serial NR\w+D0 is not visible in the installer \(disks seen: nvme0n1 \(serial SOMEONESDISK0\)/);
      expect(report.steps.filter((s) => s.task > 2).every((s) => s.status === 'skipped')).toBe(true);
      // Not one byte reached the disk: every cluster of the image is still unallocated.
      const map = JSON.parse(execFileSync('qemu-img', ['map', '--output=json', '-f', 'qcow2', path.join(workDir, 'disk0.qcow2')], { encoding: 'utf8' })) as Array<{ data: boolean }>;
      expect(map.some((e) => e.data)).toBe(false);
    } finally {
      rmSync(workDir, { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the CLI', () => {
  it('`run` without #host exits 2 (an input error) with the fix on stderr and still writes report.json', async () => {
    const dir = out('cli-no-host');
    const r = await execa('node', ['dist/cli.js', 'run', '--iso', fx.iso, '--flake', fx.flake, '--out', dir], { reject: false });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/error: flake reference .* names no host: write it as <path-or-url>#<host>/);
    expect(readReport(path.join(dir, 'report.json')).result).toBe('fail');
    expect(readFileSync(path.join(dir, 'report.md'), 'utf8')).toMatch(/^❌ \*\*nixos-rehearse: FAIL\*\* for `[^`]*` \(layout zfs, .*\) — flake reference .* names no host/);
    rmSync(dir, { recursive: true, force: true });
  });
});
