import { CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { exitCodeFor } from '../../src/cli/exit-codes.js';
import { RehearseError } from '../../src/errors.js';
import { FirmwareNotFoundError } from '../../src/qemu/firmware.js';
import { LimitError } from '../../src/limits.js';

describe('exitCodeFor', () => {
  it('a usage or input error is 2', () => {
    expect(exitCodeFor(new CommanderError(1, 'commander.unknownOption', "error: unknown option '--nope'"))).toBe(2);
    expect(exitCodeFor(new LimitError('--cpus', '0', 'a whole number'))).toBe(2);
    expect(exitCodeFor({ kind: 'invalid-setting' })).toBe(2);
    expect(exitCodeFor(new RehearseError('input', 'flake directory not found'))).toBe(2);
    expect(exitCodeFor(new RehearseError('unknown-flake-host', 'no nixosConfigurations.x'))).toBe(2);
    expect(exitCodeFor({ kind: 'input', message: 'as report.error records it' })).toBe(2);
  });
  it('a host that is not ready is 3', () => {
    expect(exitCodeFor(new RehearseError('host-not-ready', 'qemu-system-x86_64 not found'))).toBe(3);
    expect(exitCodeFor(new FirmwareNotFoundError(['/nowhere']))).toBe(3);
  });
  it('anything else is a red rehearsal, 1', () => {
    for (const e of [new Error('boom'), new RehearseError('qemu-exited', 'gone'), new RehearseError('iso-checksum-mismatch', 'x'), 'a string', undefined, null, { kind: 'made-up' }]) expect(exitCodeFor(e)).toBe(1);
  });
});
