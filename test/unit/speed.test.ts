// The TCG speed factor and the timeout scale it drives: pure parts (the probe kernel's bytes,
// the scale's arithmetic); the probe itself runs in test/vm/doctor.test.ts.
import { describe, expect, it } from 'vitest';
import { probeKernel, speedKernel, timeoutScale } from '../../src/qemu/accel.js';

describe('speed probe', () => {
  it('keeps the multiboot header and exits like the KVM probe after its loop', () => {
    const p = probeKernel();
    const s = speedKernel(7);
    expect(s.subarray(0, 0x20)).toEqual(p.subarray(0, 0x20));
    expect(s[0x20]).toBe(0xb9); // mov ecx, rounds
    expect(s.readUInt32LE(0x21)).toBe(7);
    // out 0xf4, al; hlt after the loop
    expect(s.includes(Buffer.from([0xe6, 0xf4, 0xf4, 0xeb, 0xfd]))).toBe(true);
  });
});

describe('timeoutScale', () => {
  const env = {} as NodeJS.ProcessEnv;
  const speed = (factor: number) => ({ factor, probeMs: factor * 1000, referenceMs: 1000 });
  it('is 1 under KVM whatever the TCG speed', () => {
    expect(timeoutScale('kvm', env, speed(3))).toBe(1);
  });
  it('is 5 under TCG on a machine as fast as the reference or faster, and grows with a slower one', () => {
    expect(timeoutScale('tcg', env, speed(1))).toBe(5);
    expect(timeoutScale('tcg', env, speed(0.5))).toBe(5);
    expect(timeoutScale('tcg', env, speed(3))).toBe(15);
    expect(timeoutScale('tcg', env, speed(1.37))).toBe(6.9);
  });
  it('NIXOS_REHEARSE_TIMEOUT_SCALE overrides, and must be a positive number', () => {
    expect(timeoutScale('tcg', { NIXOS_REHEARSE_TIMEOUT_SCALE: '2' }, speed(3))).toBe(2);
    expect(() => timeoutScale('tcg', { NIXOS_REHEARSE_TIMEOUT_SCALE: 'fast' })).toThrow(/positive number/);
  });
});
