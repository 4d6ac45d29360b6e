// What the action hands the workflow (outputs) and the error annotation, from report.json,
// with real tool output as the evidence the checks kept.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { actionOutputs, failureAnnotation } from '../../src/action/outputs.js';
import type { Report } from '../../src/report.js';

const bootctl = readFileSync('test/fixtures/verify/bootctl-list.fixture.json', 'utf8');
const report = (over: Partial<Report>): Report => ({
  schema: 2,
  result: 'pass',
  accel: 'kvm',
  iso: { path: '/iso' },
  flake: '/repo#server',
  layout: 'zfs',
  installPath: 'flake',
  injected: [],
  phases: [],
  steps: [],
  checks: [],
  startedAt: '2026-11-25T10:00:00Z',
  durationMs: 1,
  logs: { dir: '/out/logs' },
  ...over,
});

describe('action outputs', () => {
  it('generations and boot entries as JSON, the latest listing winning', () => {
    const gens1 = '   1   2026-11-25 09:57:25   (current)\n';
    const gens2 = '   1   2026-11-25 09:57:25   \n   2   2026-11-25 10:03:11   (current)\n';
    const o = actionOutputs(
      report({
        checks: [
          { id: 'generations', status: 'pass', summary: '', evidence: gens1 },
          { id: 'boot-entries', status: 'pass', summary: '', evidence: `${bootctl.trim()}\n--- loader.conf ---\ntimeout 5\ndefault nixos-generation-1.conf\n` },
          { id: 'rebuild-generations', status: 'pass', summary: '', evidence: gens2 },
        ],
      }),
      '/out/report.json',
    );
    expect(o.result).toBe('pass');
    expect(o['report-path']).toBe('/out/report.json');
    expect(JSON.parse(o.generations)).toEqual([
      { generation: 1, date: '2026-11-25 09:57:25', current: false },
      { generation: 2, date: '2026-11-25 10:03:11', current: true },
    ]);
    const entries = JSON.parse(o['boot-entries']) as Array<{ id: string; default?: boolean }>;
    // systemd 252 prints no isDefault: the default comes from loader.conf.
    expect(entries).toEqual([
      expect.objectContaining({ id: 'nixos-generation-1.conf', title: 'NixOS', default: true }),
      expect.objectContaining({ id: 'auto-reboot-to-firmware-setup', default: false }),
    ]);
  });

  it('no checks (a run that stopped early): empty lists, not a crash', () => {
    const o = actionOutputs(report({ result: 'fail', error: { kind: 'iso-checksum-mismatch', message: 'checksum mismatch' } }), '/r.json');
    expect(o).toEqual({ result: 'fail', 'report-path': '/r.json', generations: '[]', 'boot-entries': '[]' });
  });

  it('the annotation names the failed runbook Task and carries the diagnosis', () => {
    expect(failureAnnotation(report({}))).toBeUndefined();
    const a = failureAnnotation(
      report({
        result: 'fail',
        steps: [{ id: 'task-12-install', task: 12, title: 'Install and set up the system', status: 'fail', durationMs: 1, command: 'nixos-install', outputTail: '', problems: ['`sudo nixos-install …` exited with 1'] }],
        diagnosis: [{ id: 'esp-not-mounted', symptom: 'no loader entries', cause: 'ESP wasn’t mounted at /mnt/boot during install', fix: 'mount ESP at /mnt/boot, then reinstall' }],
      }),
    )!;
    expect(a.title).toBe('nixos-rehearse: Task 12 Install and set up the system failed');
    expect(a.message).toMatch(/^Runbook Task 12 \(task-12-install\) failed: `sudo nixos-install …` exited with 1\nSymptom: no loader entries\nRoot cause: ESP wasn’t mounted/);
  });
});
