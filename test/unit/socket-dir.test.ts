// QEMU's UNIX sockets must fit sun_path (108 bytes with the NUL): a deep work directory (the
// action's tool cache, a saved installer's folder) gets a short one. The action test met
// "UNIX socket path '…/installer-states/.new-1632-026a4603/vm/serial.sock' is too long".
import { describe, expect, it } from 'vitest';
import { UNIX_PATH_MAX, socketDirFor, socketPaths } from '../../src/qemu/machine.js';

const deep = '/tmp/nixos-rehearse-action-hLDHSt/tool-cache/nixos-rehearse/installer-states/.new-1632-026a4603/vm';

describe('socketDirFor', () => {
  it('keeps the work directory when its sockets fit', () => {
    expect(socketDirFor('/tmp/nixos-rehearse-installer-AbCdEf', '/tmp')).toBeUndefined();
  });

  it('moves the sockets of a deep work directory to a short one under the temp directory', () => {
    expect(Buffer.byteLength(socketPaths(deep).control)).toBeGreaterThanOrEqual(UNIX_PATH_MAX);
    const dir = socketDirFor(deep, '/tmp')!;
    expect(dir).toMatch(/^\/tmp\/nr-[0-9a-f]{8}$/);
    for (const p of Object.values(socketPaths(dir))) expect(Buffer.byteLength(p)).toBeLessThan(UNIX_PATH_MAX);
  });

  it('falls back to /tmp when the temp directory itself is too deep', () => {
    const tmp = `/home/runner/work/${'x'.repeat(90)}/tmp`;
    expect(socketDirFor(deep, tmp)).toMatch(/^\/tmp\/nr-[0-9a-f]{8}$/);
  });
});
