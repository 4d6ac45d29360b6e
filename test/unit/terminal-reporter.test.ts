import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Report } from '../../src/report.js';
import { CLEAR_LINE, elapsed, oneLine, runEndLines, terminalReporter, useColor } from '../../src/reporters/terminal.js';

function fakeStream(isTTY: boolean, columns = 80) {
  const chunks: string[] = [];
  return { chunks, text: () => chunks.join(''), isTTY, columns, write: (s: string) => chunks.push(s) };
}

const info = { reportPath: '/out/report.json', logDir: '/out/logs', flake: '/cfg#server', layout: 'zfs' };
const step = { id: 'task-06-root-filesystem', task: 6, title: 'Create the ZFS pool', status: 'pass' as const, durationMs: 12_300, command: '', outputTail: '' };
const report = (over: Partial<Report> = {}): Report => ({
  schema: 2, result: 'pass', accel: 'tcg', iso: { path: '/iso' }, flake: '/cfg#server', layout: 'zfs', installPath: 'flake',
  injected: [], phases: [], steps: [], checks: [], startedAt: '', durationMs: 150_000, logs: { dir: '/out/logs' }, ...over,
});

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('helpers', () => {
  it('elapsed', () => {
    expect([elapsed(999), elapsed(45_000), elapsed(150_000), elapsed(3_720_000)]).toEqual(['0s', '45s', '2m30s', '1h02m']);
  });
  it('oneLine strips escapes and control characters and fits the width', () => {
    expect(oneLine('\x1b[1;32m[  OK  ]\x1b[0m Started\tsshd\r', 80)).toBe('[  OK  ] Started sshd');
    expect(oneLine('x'.repeat(100), 10)).toBe(`${'x'.repeat(9)}…`);
  });
  it('colour only on a TTY, never with NO_COLOR (any non-empty value) or FORCE_COLOR=0', () => {
    expect(useColor(true, {})).toBe(true);
    expect(useColor(false, {})).toBe(false);
    expect(useColor(true, { NO_COLOR: '1' })).toBe(false);
    expect(useColor(true, { NO_COLOR: '' })).toBe(true);
    expect(useColor(true, { FORCE_COLOR: '0' })).toBe(false);
    expect(useColor(false, { FORCE_COLOR: '1' })).toBe(false);
  });
});

describe('terminalReporter on a TTY', () => {
  it('redraws one live line (elapsed, last serial line) and replaces it with the result line', () => {
    const s = fakeStream(true, 60);
    let serial: string | undefined = 'Booting \x1b[1mNixOS\x1b[0m';
    const r = terminalReporter({ stream: s, color: false, tickMs: 1000 });
    r.runStart!(info, { lastSerialLine: () => serial });
    expect(s.text()).toContain('report: /out/report.json\n');
    expect(s.text()).toContain('logs:   /out/logs\n');
    r.phaseStart!({ id: 'install', title: 'Install (runbook Tasks 1–13)' });
    r.stepStart!({ id: step.id, task: 6, title: step.title });
    s.chunks.length = 0;
    serial = 'zpool create -o ashift=12 rpool mirror /dev/disk/by-id/nvme-NR1 /dev/disk/by-id/nvme-NR2 and a very long tail';
    vi.advanceTimersByTime(3000);
    const draws = s.chunks.filter((c) => c.startsWith(CLEAR_LINE) && c.length > CLEAR_LINE.length);
    expect(draws).toHaveLength(3);
    const last = draws.at(-1)!.slice(CLEAR_LINE.length);
    expect(last).toMatch(/^ {2}… task-06-root-filesystem 3s │ zpool create/);
    expect(last).not.toContain('\n');
    expect(Array.from(last).length).toBeLessThanOrEqual(59);
    r.stepEnd!(step);
    expect(s.chunks.at(-3)).toBe(CLEAR_LINE);
    expect(s.text()).toMatch(/✓ task-06-root-filesystem +Create the ZFS pool +12\.3s\n/);
    // The phase goes on: its live line comes back.
    expect(s.chunks.at(-1)).toMatch(/^\r\x1b\[2K {2}… Install/);
    r.runEnd!(report(), info.reportPath);
    const n = s.chunks.length;
    vi.advanceTimersByTime(10_000);
    expect(s.chunks.length).toBe(n); // the timer is gone
    expect(s.text()).toMatch(/PASS \/cfg#server \(layout zfs\) in 2m30s\nreport: \/out\/report.json\n$/);
  });

  it('colours the marks green and red unless told not to', () => {
    const s = fakeStream(true);
    const r = terminalReporter({ stream: s, color: true });
    r.stepEnd!(step);
    r.stepEnd!({ ...step, status: 'fail', problems: ['`zpool create` exited with 1'] });
    expect(s.text()).toContain('\x1b[32m✓\x1b[0m');
    expect(s.text()).toContain('\x1b[31m✗\x1b[0m');
    expect(s.text()).toContain('      `zpool create` exited with 1\n');
  });

  it('with NO_COLOR there is no escape but the line redraw', () => {
    const old = process.env.NO_COLOR;
    process.env.NO_COLOR = '1';
    try {
      const s = fakeStream(true);
      const r = terminalReporter({ stream: s });
      r.runStart!(info, { lastSerialLine: () => undefined });
      r.phaseStart!({ id: 'boot', title: 'Boot the installer ISO' });
      r.stepEnd!({ ...step, status: 'fail' });
      r.runEnd!(report({ result: 'fail' }), info.reportPath);
      expect(s.text().split(CLEAR_LINE).join('')).not.toContain('\x1b[');
    } finally {
      if (old === undefined) delete process.env.NO_COLOR;
      else process.env.NO_COLOR = old;
    }
  });
});

describe('terminalReporter without a TTY', () => {
  it('never redraws; a heartbeat line after 30 s without output', () => {
    const s = fakeStream(false);
    const r = terminalReporter({ stream: s });
    r.runStart!(info, { lastSerialLine: () => '\x1b[0m[  OK  ] Reached target Multi-User System.' });
    r.phaseStart!({ id: 'install', title: 'Install (runbook Tasks 1–13)' });
    r.stepStart!({ id: 'task-12-install', task: 12, title: 'Install and set up the system' });
    vi.advanceTimersByTime(29_000);
    expect(s.text()).not.toContain('still running');
    vi.advanceTimersByTime(1000);
    expect(s.text()).toContain('  … still running task-12-install (30s): [  OK  ] Reached target Multi-User System.\n');
    vi.advanceTimersByTime(120_000);
    expect(s.text().match(/still running/g)).toHaveLength(5);
    expect(s.text()).toContain('still running task-12-install (2m30s)');
    r.info!('a progress line');
    vi.advanceTimersByTime(29_000);
    expect(s.text().match(/still running/g)).toHaveLength(5);
    expect(s.text()).not.toContain('\r');
    expect(s.text()).not.toContain('\x1b');
    r.runEnd!(report({ result: 'fail', diagnosis: [{ id: 'esp-not-mounted', symptom: 'no boot entry', cause: 'the ESP was not mounted', fix: 'mount it at /mnt/boot' }] }), info.reportPath);
    vi.advanceTimersByTime(60_000);
    expect(s.text().match(/still running/g)).toHaveLength(5);
    expect(s.text()).toMatch(/FAIL .*\n {2}no boot entry\n {4}cause: the ESP was not mounted\n {4}fix: {3}mount it at \/mnt\/boot\nreport: \/out\/report.json\n$/);
  });

  it('no heartbeat when nothing runs', () => {
    const s = fakeStream(false);
    const r = terminalReporter({ stream: s });
    r.runStart!(info, { lastSerialLine: () => 'x' });
    vi.advanceTimersByTime(120_000);
    expect(s.text()).not.toContain('still running');
    r.runEnd!(report(), info.reportPath);
  });
});

describe('runEndLines', () => {
  it('names the error when there is no diagnosis', () => {
    expect(runEndLines(report({ result: 'fail', error: { kind: 'input', message: 'flake directory not found: /x\nmore' } }), '/r.json')).toEqual(['FAIL /cfg#server (layout zfs) in 2m30s', '  error: flake directory not found: /x', 'report: /r.json']);
  });
});
