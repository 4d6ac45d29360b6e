// `nixos-rehearse doctor` as a user runs it: the bundled CLI.
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';

describe('nixos-rehearse doctor', () => {
  it('--json reports QEMU, OVMF and the accelerator with the reason for it', async () => {
    const r = await execa('node', ['dist/cli.js', 'doctor', '--json'], { reject: false });
    expect(r.exitCode).toBe(0);
    const d = JSON.parse(r.stdout);
    expect(d.ok).toBe(true);
    expect(d.qemu.version).toMatch(/^\d+\.\d+/);
    expect(d.qemuImg.version).toMatch(/^\d+\.\d+/);
    expect(d.firmware.code).toMatch(/CODE/i);
    expect(d.firmware.flash).toBe('4m');
    expect(['kvm', 'tcg']).toContain(d.accel);
    expect(d.kvm.reason.length).toBeGreaterThan(10);
    if (d.accel === 'tcg') {
      // Never silently: the reason KVM was refused is in the report, and timeouts are scaled.
      expect(d.accelReason).toMatch(/^no KVM: /);
      expect(d.kvm.usable).toBe(false);
      expect(d.timeoutScale).toBeGreaterThan(1);
      // The machine's measured TCG speed, and every wait scaled by it (never below the TCG base 5).
      expect(d.speed.factor).toBeGreaterThan(0);
      expect(d.speed.probeMs).toBeGreaterThan(0);
      expect(d.timeoutScale).toBeCloseTo(5 * Math.max(1, d.speed.factor), 0);
    }
  });

  it('--accel tcg skips the probe; an unusable QEMU fails with the command to fix it', async () => {
    const t = JSON.parse((await execa('node', ['dist/cli.js', 'doctor', '--json', '--accel', 'tcg'])).stdout);
    expect(t.accel).toBe('tcg');
    const r = await execa('node', ['dist/cli.js', 'doctor'], { reject: false, env: { NIXOS_REHEARSE_QEMU: '/nonexistent/qemu-system-x86_64' } });
    expect(r.exitCode).toBe(3); // the host is not ready
    expect(r.stdout).toMatch(/FAIL\s+qemu/);
    expect(r.stdout).toContain('sudo apt-get install qemu-system-x86 qemu-utils ovmf');
  });
});
