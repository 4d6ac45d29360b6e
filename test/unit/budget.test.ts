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

  it('fits CI: the VM files take at most 25 minutes at the reference speed (a slow day), leaving 5 for set-up and unit tests', () => {
    const total = budget.files.reduce((n, f) => n + f.seconds, 0);
    expect(total).toBeLessThanOrEqual(25 * 60);
  });
});
