// What every full rehearsal in the gate must show in its report.json, whichever entry point ran
// it (runRehearsal in rehearsal.test.ts, the action bundle in action.test.ts).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { inject, expect } from 'vitest';
import type { Report } from '../../src/report.js';
import { STEPS } from '../../src/runbook/plan.js';

/**
 * `red`: the one check a configuration turns red on purpose (and its diagnosis); every other
 * step, check and phase must still pass. `upgrade`: upgrade mode from a fresh base (the install,
 * then the upgrade to `flake`, the reboot into it and the rollback) instead of install mode's rebuild.
 */
export function expectFullRun(report: Report, o: { layout: string; rebuild: boolean; upgrade?: boolean; lines?: string[]; exitCode: number; flake?: string; red?: { check: string; diagnosis: string } }) {
  const fx = inject('fixture');
  const failed = report.steps.filter((s) => s.status !== 'pass');
  expect(failed, JSON.stringify(failed, null, 2) + (report.error?.message ?? '')).toEqual([]);
  expect(o.exitCode).toBe(o.red ? 1 : 0);
  expect(report).toMatchObject({ schema: 2, result: o.red ? 'fail' : 'pass', layout: o.layout, flake: o.flake ?? `${fx.flake}#server`, installPath: 'flake' });
  if (o.red) expect(report.diagnosis?.map((d) => d.id)).toEqual([o.red.diagnosis]);
  expect(report.accel).toMatch(/^(kvm|tcg)$/);
  if (report.accel === 'tcg') expect(report.speed?.factor).toBeGreaterThan(0);
  expect(report.speed?.timeoutScale).toBeGreaterThanOrEqual(1);
  expect(report.iso.bootEntry).toMatch(/^NixOS 25\.11\.\d{8}\.[0-9a-f]{7} Installer \(Linux LTS\)$/);
  const badChecks = report.checks.filter((c) => c.status !== 'pass');
  expect(badChecks.map((c) => c.id), JSON.stringify(badChecks, null, 2)).toEqual(o.red ? [o.red.check] : []);
  expect(report.mode ?? 'install').toBe(o.upgrade ? 'upgrade' : 'install');
  const after = o.upgrade ? ['upgrade', 'reboot-upgraded', 'rollback'] : o.rebuild ? ['rebuild', 'rollback'] : [];
  const phases = ['boot-installer', 'install', 'power-off', 'reboot', 'verify', ...after];
  expect(report.phases.map((p) => [p.id, p.status])).toEqual(phases.map((p) => [p, o.red && p === 'verify' ? 'fail' : 'pass']));
  const checkIds = report.checks.map((c) => c.id);
  for (const id of ['booted-system', 'boot-entries', 'generations', 'pool-health', 'boot-time', 'failed-units', 'sshd', 'vm-network', 'ssh-login', 'password-login-refused', 'efi-boot-entry', 'closure-size', 'disk-space', 'secrets-not-in-store']) {
    expect(checkIds).toContain(id);
  }
  if (o.rebuild || o.upgrade) {
    for (const id of ['rebuild-build', 'rebuild-switch', 'rebuild-sshd', 'rebuild-failed-units', 'rebuild-generations', 'rollback-in-place', 'rollback-at-boot', 'rollback-entries-retained']) expect(checkIds).toContain(id);
  }
  const pool = report.checks.find((c) => c.id === 'pool-health')!;
  expect(pool.summary).toBe(o.layout.startsWith('zfs') ? 'all pools are healthy' : o.layout === 'ext4' ? 'ext4: file system state clean' : 'btrfs: no device errors');
  expect(report.checks.find((c) => c.id === 'boot-time')!.figures?.totalMs).toBeGreaterThan(0);
  const ids = report.steps.map((s) => s.id);
  expect(ids.filter((i) => i.startsWith('task-'))).toEqual(STEPS.map((s) => s.id));
  for (const s of report.steps) {
    expect(s.durationMs).toBeGreaterThan(0);
    expect(s.command).not.toBe('');
  }
  // Progress: one line per step with its time.
  if (o.lines) for (const id of STEPS.map((s) => s.id)) expect(o.lines.some((l) => l.includes(id) && /\d+\.\ds$/.test(l))).toBe(true);
  // What was injected is listed, with the per-run key's public half only.
  expect(report.injected.map((i) => path.basename(i.file))).toEqual(['flake.nix', 'harness.nix', 'vm-hardware.nix']);
  const harness = report.injected[1]!.content;
  expect(harness).toMatch(/ssh-ed25519 \S+ nixos-rehearse/);
  expect(harness).not.toContain('PRIVATE KEY');
  // The rehearse user's throw-away password is written into the VM, never into the report.
  expect(harness).toContain(`initialPassword = "<this run's throw-away password>";`);
  expect(harness).not.toMatch(/hostId/);
  expect(existsSync(report.logs.dir)).toBe(true);
  const install = report.steps.find((s) => s.id === 'task-12-install')!;
  expect(install.outputTail).toContain('installation finished!');
  if (o.layout === 'zfs-mirror') expect(report.steps.find((s) => s.id === 'task-06-root-filesystem')!.outputTail).toMatch(/mirror-0\s+ONLINE\s+0\s+0\s+0/);
}
