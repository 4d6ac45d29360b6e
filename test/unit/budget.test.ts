// Every VM test file has an entry in the committed budget table (test/vm/budget.json), and the
// table fits CI's target: a new slow test is a decision, not an accident.
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import budget from '../vm/budget.json' with { type: 'json' };

describe('the VM test budget table', () => {
  const files = readdirSync('test/vm').filter((f) => f.endsWith('.test.ts')).sort();

  it('names every VM test file, and only those', () => {
    expect(budget.files.map((f) => f.file).sort()).toEqual(files);
  });

  it('gives each a positive budget and a reason', () => {
    for (const f of budget.files) {
      expect(f.seconds, f.file).toBeGreaterThan(0);
      expect(f.why.length, f.file).toBeGreaterThan(10);
    }
  });

  it('puts every file in lane A or B, lane A first (the files start in this order)', () => {
    for (const f of budget.files) expect(['A', 'B'], f.file).toContain(f.lane);
    expect(budget.files[0]!.lane).toBe('A');
  });

  it('fits CI: the global setup and the longer lane take at most 28 minutes at the reference speed (a slow day), leaving 2 for apt-get, npm ci, the type check and the unit tests', () => {
    const lane = (l: string) => budget.files.filter((f) => f.lane === l).reduce((n, f) => n + f.seconds, 0);
    expect(budget.globalSetupSeconds).toBeGreaterThan(0);
    expect(budget.globalSetupSeconds + Math.max(lane('A'), lane('B'))).toBeLessThanOrEqual(28 * 60);
  });
});
