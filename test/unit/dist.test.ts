// The action runs dist/, not src/: a dist/ that is not what src/ builds to is a defect.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { expect, it } from 'vitest';

it('dist/ is up to date with src/ (run `npm run build` and commit dist/)', async () => {
  const out = mkdtempSync(path.join(os.tmpdir(), 'nixos-rehearse-dist-'));
  try {
    await execa('node', ['scripts/build.mjs', '--outdir', out]);
    const built = readdirSync(out).sort();
    expect(readdirSync('dist').sort()).toEqual(built);
    for (const f of built) {
      const same = readFileSync(path.join(out, f)).equals(readFileSync(path.join('dist', f)));
      expect(same, `dist/${f} is stale: run npm run build and commit dist/`).toBe(true);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

it('the CLI bundle is executable and answers --help', async () => {
  const r = await execa('node', ['dist/cli.js', '--help']);
  expect(r.stdout).toMatch(/doctor/);
  expect(r.stdout).toMatch(/demo/);
});
