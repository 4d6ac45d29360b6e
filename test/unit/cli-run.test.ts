import { describe, expect, it } from 'vitest';
import { runExitCode } from '../../src/cli/run.js';
import { errorRecord, RehearseError } from '../../src/errors.js';
import { LimitError } from '../../src/limits.js';
import type { Report } from '../../src/report.js';

const base = { result: 'fail', phases: [] } as unknown as Report;

describe('runExitCode', () => {
  it('0 on a pass, 1 on a red run (a step or a check failed, or the VM died)', () => {
    expect(runExitCode({ report: { ...base, result: 'pass' } })).toBe(0);
    expect(runExitCode({ report: base })).toBe(1);
    expect(runExitCode({ report: { ...base, error: errorRecord(new RehearseError('qemu-exited', 'QEMU exited during the install')) } })).toBe(1);
  });
  it('the kind of the error the engine recorded: an input 2, the host 3', () => {
    expect(runExitCode({ report: { ...base, error: errorRecord(new LimitError('--cpus', '0', 'a whole number from 1 to 64')) } })).toBe(2);
    expect(runExitCode({ report: { ...base, error: errorRecord(new RehearseError('host-not-ready', 'QEMU not found')) } })).toBe(3);
  });
});
