// report.md rendering: a snapshot of a passing and a failing report, and guest output that tries
// to break out of its block, mention people or forge table cells.
import { describe, expect, it } from 'vitest';
import type { Report } from '../../src/report.js';
import { cell, fence, renderReport } from '../../src/render.js';

const base: Report = {
  schema: 1,
  result: 'pass',
  accel: 'tcg',
  iso: { path: '/isos/nixos-minimal-25.11-x86_64-linux.iso', bootEntry: 'NixOS 25.11 Installer (Linux LTS)' },
  flake: '/repo#server',
  layout: 'zfs',
  installPath: 'flake',
  injected: [{ file: '/tmp/rehearse/flake/harness.nix', content: '{ }', settings: ['boot.kernelParams += [ "console=ttyS0,115200n8" ]'] }],
  phases: [
    { id: 'boot-installer', title: 'Boot the installer ISO', status: 'pass', durationMs: 22_100 },
    { id: 'install', title: 'Install', status: 'pass', durationMs: 43_500 },
  ],
  steps: [
    { id: 'task-01-uefi', task: 1, title: 'Confirm you booted in UEFI mode', status: 'pass', durationMs: 140, command: 'ls /sys/firmware/efi', outputTail: 'efivars' },
    { id: 'task-12-install', task: 12, title: 'Install and set up the system', status: 'pass', durationMs: 24_900, command: 'sudo nixos-install', outputTail: 'installation finished!' },
  ],
  checks: [
    { id: 'pool-health', status: 'pass', summary: 'all pools are healthy', evidence: 'all pools are healthy' },
    { id: 'generations', status: 'pass', summary: '1 generation(s); generation 1 is current', evidence: '   1   2026-11-25 08:29:40   (current)' },
  ],
  startedAt: '2026-11-25T08:26:52.329Z',
  durationMs: 183_000,
  logs: { dir: '/out/logs' },
};

describe('report.md', () => {
  it('renders a passing rehearsal', async () => {
    await expect(renderReport(base)).toMatchFileSnapshot('../fixtures/render/report-pass.md');
  });

  it('renders a failure with the runbook Decision and the step output, which cannot escape its block', async () => {
    const hostile = 'error: ```\n</details>\n@octocat please look | not a cell\n````\n<img src=x onerror=alert(1)>';
    const r: Report = {
      ...base,
      result: 'fail',
      steps: [
        base.steps[0]!,
        { id: 'task-13-boot-entries', task: 13, title: 'Before reboot, verify boot entries exist', status: 'fail', durationMs: 300, command: 'sudo ls -la /mnt/boot/loader/entries | head', outputTail: hostile, problems: ['/mnt/boot/loader/entries has no nixos-generation-1.conf'], decision: 'If the directory is empty, your ESP wasn’t mounted during install.' },
      ],
      checks: [{ id: 'sshd', status: 'fail', summary: 'sshd is inactive (dead) @octocat | x', evidence: hostile }],
    };
    const md = renderReport(r);
    await expect(md).toMatchFileSnapshot('../fixtures/render/report-fail.md');
    expect(md.split('\n')[0]).toContain('❌ **nixos-rehearse: FAIL**');
    expect(md).toContain('> **Runbook Task 13:** If the directory is empty');
    // Every block the hostile text sits in is fenced with more backticks than it contains.
    expect(md).toContain('`````text\nerror: ```');
    // Outside code fences (where GitHub would turn it into a mention) no bare @octocat is left.
    const prose = md.replace(/^(`{3,})[^\n]*\n[\s\S]*?^\1$/gm, '');
    expect(prose).not.toMatch(/@octocat/);
    expect(prose).not.toContain('</details>\n@');
    expect(md).toContain('sshd is inactive \\(dead\\) @\u200boctocat \\| x');
  });

  it('escapes cells and sizes fences', () => {
    expect(cell('a|b <i>@x</i>\nnext')).toBe('a\\|b &lt;i&gt;@\u200bx&lt;/i&gt; next');
    expect(fence('no ticks')).toBe('```text\nno ticks\n```');
    expect(fence('has ```` four')).toBe('`````text\nhas ```` four\n`````');
  });
});
