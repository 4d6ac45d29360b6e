// What a killed run left in $TMPDIR is removed by the next run, and only that (#15 item 4).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ownedTempDir, processStart, removeLeftovers } from '../../src/leftovers.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'leftovers-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('removeLeftovers', () => {
  it('removes tagged directories whose owner is gone, keeps a live owner’s and untagged ones', () => {
    const gone = spawnSync('sh', ['-c', 'echo $$']).stdout.toString().trim(); // a pid that has exited
    const tag = (name: string, owner: object | undefined) => {
      const d = path.join(tmp, name);
      mkdirSync(d);
      writeFileSync(path.join(d, 'disk0.qcow2'), 'x');
      if (owner) writeFileSync(path.join(d, '.nixos-rehearse-owner'), JSON.stringify(owner));
      return d;
    };
    const dead = tag('nixos-rehearse-run-dead', { pid: Number(gone), start: '1' });
    const reused = tag('nixos-rehearse-key-reused', { pid: process.pid, start: 'not-this-process' }); // the pid lives on in another process
    const live = tag('nixos-rehearse-run-live', { pid: process.pid, start: processStart(process.pid) });
    const untagged = tag('nixos-rehearse-run-untagged', undefined);
    const other = tag('someone-else-dead', { pid: Number(gone), start: '1' });
    expect(removeLeftovers(tmp).sort()).toEqual([reused, dead].sort());
    expect([dead, reused, live, untagged, other].map(existsSync)).toEqual([false, false, true, true, true]);
  });

  it('tags what it makes with this process', () => {
    const prev = process.env.TMPDIR;
    process.env.TMPDIR = tmp;
    try {
      const d = ownedTempDir('nixos-rehearse-run-');
      expect(path.dirname(d)).toBe(tmp);
      expect(removeLeftovers(tmp)).not.toContain(d);
    } finally {
      process.env.TMPDIR = prev;
    }
  });
});
