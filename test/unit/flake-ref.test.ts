import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { flakeDir, flakeHost, localFlakeDir, parseFlakeRef, splitFlakeRef } from '../../src/flake.js';
import { splitFlakeRef as planSplit } from '../../src/runbook/plan.js';

describe('flake references: one parser (src/flake.ts) for the CLI, the action input, the plan, the lock diff and the report', () => {
  it('splits at the last #; no # is no host', () => {
    expect(parseFlakeRef('/repo#server')).toEqual({ where: '/repo', host: 'server' });
    expect(parseFlakeRef('#server')).toEqual({ where: '', host: 'server' });
    expect(parseFlakeRef('/repo')).toEqual({ where: '/repo', host: '' });
    expect(parseFlakeRef('/re#po#server')).toEqual({ where: '/re#po', host: 'server' });
    expect(flakeDir('/work/flake#web-01')).toBe('/work/flake');
    expect(flakeHost('/work/flake#web-01')).toBe('web-01');
  });
  it('the plan uses the same splitFlakeRef', () => {
    expect(planSplit).toBe(splitFlakeRef);
    expect(splitFlakeRef('#server')).toEqual(['.', 'server']);
    expect(() => splitFlakeRef('/repo#')).toThrow(/names no host/);
  });
  it('local directories only: path: and relative paths resolve against the base, other URLs are refused', () => {
    expect(localFlakeDir('', '/ws')).toBe('/ws');
    expect(localFlakeDir('sub', '/ws')).toBe('/ws/sub');
    expect(localFlakeDir('path:/abs', '/ws')).toBe('/abs');
    expect(localFlakeDir('path:rel', '/ws')).toBe(path.resolve('/ws', 'rel'));
    expect(localFlakeDir('github:me/repo', '/ws')).toBeUndefined();
    expect(localFlakeDir('git+https://example.org/r', '/ws')).toBeUndefined();
  });
});
