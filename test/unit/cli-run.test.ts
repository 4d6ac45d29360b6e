import { describe, expect, it } from 'vitest';
import { runExitCode } from '../../src/cli/run.js';
import type { Report } from '../../src/report.js';

const base = { result: 'fail', phases: [] } as unknown as Report;
const o = { layout: 'zfs', flake: '/nonexistent#x', iso: '/nonexistent.iso' };

describe('runExitCode', () => {
  it('0 on a pass, 1 on a red run that got going', () => {
    expect(runExitCode({ report: { ...base, result: 'pass' } }, o)).toBe(0);
    expect(runExitCode({ report: { ...base, error: 'QEMU exited', phases: [{ id: 'install', title: 'Install', status: 'fail', durationMs: 1 }] } }, o)).toBe(1);
    expect(runExitCode({ report: base }, o)).toBe(1);
  });
  it('the kind report.error carries, once it carries one', () => {
    const withKind = (kind: string) => ({ report: { ...base, error: { kind, message: 'x' } as unknown as string } });
    expect(runExitCode(withKind('input'), o)).toBe(2);
    expect(runExitCode(withKind('host-not-ready'), o)).toBe(3);
    expect(runExitCode(withKind('qemu-exited'), o)).toBe(1);
  });
  it('a text error before the first phase: classified by the inputs it failed', () => {
    expect(runExitCode({ report: { ...base, error: 'flake directory not found: /nonexistent' } }, o)).toBe(2);
  });
});

