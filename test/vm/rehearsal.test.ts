// `nixos-rehearse run` on the fixture installer: the runbook's Tasks 1–13 for each layout,
// report.json as documented, and the refusals that must happen before anything boots.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { Report } from '../../src/report.js';
import { runRehearsal } from '../../src/rehearsal.js';
import { readSavedInstall } from '../../src/rehearsal.js';
import { expectFullRun } from '../helpers/full-run.js';
import { expectInstalledZfsMirror } from '../helpers/installed-details.js';
import { installedBaseDir, makingInstalledBase, shared } from '../helpers/shared.js';

const fx = inject('fixture');
// faults.test.ts, in the other lane, waits for the zfs-mirror base this file keeps.
afterAll(makingInstalledBase('zfs-mirror'));
const out = (name: string) => path.resolve('nixos-rehearse-out', 'test-runs', `${name}-${Date.now()}`);
const readReport = (p: string) => JSON.parse(readFileSync(p, 'utf8')) as Report;
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
  // One full rehearsal per root kind in the gate: zfs-mirror with the rebuild and both rollbacks
  // (its install is kept for the files after this one: the installed base), btrfs to the checks
  // here, ext4 to the checks through the action bundle (action.test.ts). Each starts from the
  // installer the global setup booted and saved; the zfs layout's Tasks 1–8 run verbatim in
  // fixture.test.ts and its install in faults.test.ts.
  //
  // The fixture's flake is written as for a real server (static address on a NIC the VM does not
  // have, DHCP off, only PasswordAuthentication = false, neededForBoot on /persist): the VM
  // reaches the network through the harness alone. The btrfs run's copy sets
  // PasswordAuthentication = true: its password login gets in, and only that check is red.
  it.each(['zfs-mirror', 'btrfs'])('layout %s passes Tasks 1–13 and writes report.json', async (layout) => {
    const lines: string[] = [];
    const dir = out(`run-${layout}`);
    const rebuild = layout.startsWith('zfs');
    const passwords = layout === 'btrfs';
    const flakeDir = passwords ? passwordFlake() : fx.flake;
    const r = await runRehearsal({
      iso: fx.iso, flake: `${flakeDir}#server`, layout, diskSize: '8G', outDir: dir, rebuild, log: (l) => lines.push(l),
      // The fixture builds offline: its VMs reach nothing (#15 item 12); DHCP and SSH still work (vm-network, ssh-login).
      network: 'none',
      cacheDir: shared().cacheDir, reuseInstaller: true, saveInstalled: layout === 'zfs-mirror' ? installedBaseDir(layout) : undefined,
      // The installed system's details, in the running VM after the checks (test/helpers/installed-details.ts).
      events: layout === 'zfs-mirror' ? { verified: expectInstalledZfsMirror } : undefined,
    });
    const report = readReport(r.reportPath);
    console.log(`${layout}: ${report.phases.map((p) => `${p.id} ${(p.durationMs / 1000).toFixed(1)}s`).join(', ')}`);
    expectFullRun(report, { layout, rebuild, lines, exitCode: r.exitCode, flake: `${flakeDir}#server`, red: passwords ? { check: 'password-login-refused', diagnosis: 'password-login-accepted' } : undefined });
    const pw = report.checks.find((c) => c.id === 'password-login-refused')!;
    // Tried, not read off the offered methods: NixOS offers keyboard-interactive by default.
    expect(pw.summary).toBe(passwords ? 'a password login as rehearse got in' : 'a password login as rehearse (who has a password) was refused; the server offers: publickey,keyboard-interactive');
    expect(report.checks.find((c) => c.id === 'vm-network')?.summary).toBe("QEMU's NIC rehearse0 (MAC 52:54:00:12:34:56) has 10.0.2.15/24");
    expect(report.network).toBe('none');
    if (passwords) rmSync(flakeDir, { recursive: true, force: true });
    // Restored, not booted: the installer the global setup saved, this run's disks plugged in.
    expect(report.iso.restoredFrom).toBe(shared().installerState);
    expect(lines.some((l) => /restored the installer saved on .*; disks plugged in: NR\w+D0/.test(l))).toBe(true);
    if (layout === 'zfs-mirror') {
      // The install is kept for later files (faults.test.ts boots it and finds generation 1
      // alone: the rebuild and rollbacks above wrote to overlays, never to it).
      const kept = readSavedInstall(installedBaseDir(layout));
      expect(kept.toplevel).toMatch(/^\/nix\/store\/[0-9a-z]{32}-nixos-system-server-25\.11/);
      expect(kept.disks.map((d) => [d.id, existsSync(d.file)])).toEqual([['disk0', true], ['disk1', true]]);
      expect(kept.injected.map((i) => path.basename(i.file))).toEqual(['flake.nix', 'harness.nix', 'vm-hardware.nix']);
    }
    rmSync(dir, { recursive: true, force: true });
    // The full zfs-mirror run boots the installed system three times (reboot, rollback at boot):
    // twice the default 10 minutes a VM test gets, scaled with the measured speed like the rest.
  }, Math.round(1_200_000 * Math.max(1, inject('speedFactor') ?? 1)));
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
