// report.md rendering: a snapshot of a passing and a failing report, and guest output that tries
// to break out of its block, mention people or forge table cells.
import { describe, expect, it } from 'vitest';
import type { Report } from '../../src/report.js';
import { readFileSync } from 'node:fs';
import { diffFlakeLock } from '../../src/flake-lock.js';
import { cell, fence, renderReport, renderReportSafely } from '../../src/render.js';

const base: Report = {
  schema: 2,
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
  it('renders an upgrade: the checks per system, what changed (closure, units, reboot), from real tool output', async () => {
    const { parseDiffClosures, parseUnitChanges } = await import('../../src/upgrade/changes.js');
    const closure = parseDiffClosures(readFileSync(new URL('../fixtures/upgrade/diff-closures-hello.txt', import.meta.url), 'utf8'));
    const units = parseUnitChanges('stopping the following units: sshd.service\nactivating the configuration...\nthe following new units were started: nginx.service');
    const r: Report = {
      ...base,
      mode: 'upgrade',
      base: { flake: '/base#server', toplevel: '/nix/store/aaaa-nixos-system-server' },
      changes: { from: '/nix/store/aaaa-nixos-system-server', to: '/nix/store/bbbb-nixos-system-server', closure, units, reboot: { needed: true, because: ['kernel'] } },
      checks: [
        { id: 'sshd', status: 'pass', summary: 'sshd is active (running)', evidence: 'ActiveState=active', system: 'base' },
        { id: 'sshd', status: 'fail', reason: 'inactive', summary: 'sshd is inactive (dead)', evidence: 'ActiveState=inactive', system: 'upgraded' },
      ] as Report['checks'],
    };
    const md = renderReport(r);
    expect(md).toContain('**What the upgrade changes** (from `/base#server`)');
    expect(md).toContain('Reboot needed: **yes** (kernel changed)');
    expect(md).toContain('Units stopped by the switch: `sshd.service`');
    expect(md).toContain('Units newly started by the switch: `nginx.service`');
    expect(md).toContain('| `hello` | 1.0 → 2.0 | +39.6 KiB |');
    expect(md).toContain('| `gone` | 1 → ∅ |  |');
    expect(md).toMatch(/\| `sshd` \| upgraded \| ❌/);
    await expect(md).toMatchFileSnapshot('../fixtures/render/report-upgrade.md');
  });

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

  // The failing report of issue-style "ESP not mounted": the runbook's diagnosis, the playbook's
  // outputs and the flake inputs this PR moved (from the real-shaped lock fixtures).
  const lockFixture = (name: string) => readFileSync(new URL(`../fixtures/flake-lock/${name}`, import.meta.url), 'utf8');
  const diagnosed: Report = {
    ...base,
    result: 'fail',
    steps: [
      base.steps[0]!,
      { id: 'task-13-boot-entries', task: 13, title: 'Before reboot, verify boot entries exist', status: 'fail', durationMs: 300, command: 'sudo ls -la /mnt/boot/loader/entries | head', outputTail: 'total 0', problems: ['/mnt/boot/loader/entries has no nixos-generation-1.conf'], decision: 'If the directory is empty, your ESP wasn’t mounted during install.' },
    ],
    checks: [],
    diagnosis: [{ id: 'esp-not-mounted', symptom: 'no nixos-generation-*.conf under /mnt/boot/loader/entries', cause: 'the ESP was not mounted at /mnt/boot during nixos-install', fix: 'mount the ESP at /mnt/boot (Task 8) and run nixos-install again', runbook: 'Common mistakes 1' }],
    playbook: [
      { id: 'findmnt-boot', title: 'What is mounted at /mnt/boot', command: 'findmnt /mnt/boot', exitCode: 1, output: '' },
      { id: 'lsblk', title: 'Disks and partitions', command: 'lsblk -o NAME,SIZE,FSTYPE,MOUNTPOINTS', exitCode: 0, output: 'NAME        SIZE FSTYPE     MOUNTPOINTS\nnvme0n1      20G\n├─nvme0n1p1   1G vfat\n└─nvme0n1p2  19G zfs_member' },
    ],
    lockChanges: diffFlakeLock(lockFixture('base.flake.lock'), lockFixture('head.flake.lock')),
  };

  it('renders the diagnosis under the verdict, the flake inputs changed and the playbook outputs', async () => {
    const md = renderReport(diagnosed);
    await expect(md).toMatchFileSnapshot('../fixtures/render/report-diagnosis.md');
    const lines = md.split('\n');
    expect(lines[2]).toBe(
      '> **Diagnosis** (`esp-not-mounted`, Common mistakes 1): Symptom: no nixos-generation-\\*.conf under /mnt/boot/loader/entries → Root cause: the ESP was not mounted at /mnt/boot during nixos-install → Fix: mount the ESP at /mnt/boot \\(Task 8\\) and run nixos-install again',
    );
    expect(md).toContain('| nixpkgs | updated | `d751db5` → `1b35222` | 2025-05-25 → 2025-11-24 |');
    expect(md).toContain('| sops-nix | added | — → `df8584c` | — → 2025-11-20 |');
    expect(md).toContain('| disko | removed | `20927c4` → — | 2025-05-20 → — |');
    expect(md).not.toContain('| impermanence |');
    expect(md).toContain('<details><summary>Diagnosis playbook: What is mounted at /mnt/boot (exit 1)</summary>\n\n```sh\n$ findmnt /mnt/boot\n```\n\n```text\n(no output)\n```\n\n</details>');
  });

  it('names the boot stage reached when the guest stopped answering, with the serial tail', async () => {
    const r: Report = {
      ...base,
      result: 'fail',
      error: { kind: 'console-timeout', message: 'the installed system did not answer on the serial console within 300s' },
      steps: base.steps,
      checks: [],
      diagnosis: [{ id: 'no-boot-entry', symptom: 'the firmware found nothing to boot', cause: 'systemd-boot was not installed to the ESP', fix: 'check boot.loader.systemd-boot.enable and that /boot is the ESP', runbook: 'Fast diagnosis playbook: boot' }],
      stage: { reached: 'firmware (OVMF)', evidence: 'the last line is from OVMF', serialTail: 'BdsDxe: No bootable option or device was found.\nBdsDxe: Press any key to enter the Boot Manager Menu.' },
    };
    const md = renderReport(r);
    await expect(md).toMatchFileSnapshot('../fixtures/render/report-stage.md');
    expect(md).toContain('**The guest stopped answering.** Boot stage reached: firmware \\(OVMF\\) (the last line is from OVMF)');
    expect(md).toContain('<details><summary>Serial console (last lines)</summary>\n\n```text\nBdsDxe: No bootable option');
  });

  it('keeps forged markup in playbook output, serial tail, diagnosis and lock input names inside their blocks', () => {
    const hostile = 'x ```\n</details>\n@octocat look | y\n`````\n<img src=x onerror=alert(1)>';
    const r: Report = {
      ...diagnosed,
      diagnosis: [{ id: 'a`b</details>@octocat', symptom: hostile, cause: hostile, fix: hostile, runbook: hostile }],
      playbook: [{ id: 'p', title: `t ${hostile}`, command: hostile, exitCode: 1, output: hostile }],
      stage: { reached: hostile, evidence: hostile, serialTail: hostile },
      lockChanges: [{ input: 'evil</details>`@octocat|x', change: 'updated', old: { rev: '`</details>', lastModified: Number.NaN }, new: { rev: '@octocat|x', lastModified: 1_764_000_000 } }],
    };
    const md = renderReport(r);
    // Every fence is longer than the backtick runs inside it.
    expect(md).toContain('``````text\nx ```');
    expect(md).toContain('``````sh\n$ x ```');
    const prose = md.replace(/^(`{3,})[^\n]*\n[\s\S]*?^\1$/gm, '');
    expect(prose).not.toMatch(/@octocat/);
    expect(prose).not.toContain('<img');
    // The only </details> outside code are ours, one per <details>, each on its own line.
    expect(prose.match(/<\/details>/g)?.length).toBe(prose.match(/<details>/g)?.length);
    expect(prose.match(/^<\/details>$/gm)?.length).toBe(prose.match(/<details>/g)?.length);
    // The lock row keeps its four cells: the forged | is escaped.
    const row = md.split('\n').find((l) => l.startsWith('| evil'))!;
    expect(row.split(/(?<!\\)\|/).length - 2).toBe(4);
    expect(row).toBe('| evil&lt;/details&gt;\\`@\u200boctocat\\|x | updated | \\`&lt;/deta → @\u200boctoca | — → 2025-11-24 |');
  });

  it('escapes cells and sizes fences', () => {
    expect(cell('a|b <i>@x</i>\nnext')).toBe('a\\|b &lt;i&gt;@\u200bx&lt;/i&gt; next');
    expect(fence('no ticks')).toBe('```text\nno ticks\n```');
    expect(fence('has ```` four')).toBe('`````text\nhas ```` four\n`````');
  });

  it('says when a fault was injected on purpose, before the diagnosis', () => {
    const md = renderReport({ ...base, result: 'fail', fault: { id: 'esp-not-mounted', what: 'unmount /mnt/boot right before Task 12 (nixos-install)' }, diagnosis: [{ id: 'esp-not-mounted', symptom: 's', cause: 'c', fix: 'f' }] });
    const lines = md.split('\n');
    const fault = lines.findIndex((l) => l.startsWith('> **Fault injected on purpose:** `esp-not-mounted`: unmount /mnt/boot right before Task 12 \\(nixos-install\\)'));
    expect(fault).toBeGreaterThan(0);
    expect(fault).toBeLessThan(lines.findIndex((l) => l.startsWith('> **Diagnosis**')));
    expect(renderReport(base)).not.toContain('Fault injected');
  });

  it('says when a guest ran out of memory, even in a passing run, the kernel lines kept in their block', () => {
    const line = 'Out of memory: Killed process 1876 (nix) total-vm:2905124kB, anon-rss:1712344kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:3712kB oom_score_adj:0';
    const md = renderReport({ ...base, oom: { memoryMiB: 2048, lines: [line, '```\n**forged**'] } });
    expect(md).toContain("**The guest ran out of memory** (2048 MiB): the kernel's OOM killer ended 2 processes.");
    expect(md).toContain(line);
    // The guest's text cannot close its fence: the block's fence is longer than any run inside.
    expect(md).toContain(fence(`${line}\n\`\`\`\n**forged**`));
    expect(renderReport(base)).not.toContain('ran out of memory');
  });

  it('a report the renderer cannot take still publishes its verdict, escaped (#15 item 8)', () => {
    // A lock change with a numeric rev, as a hostile flake.lock made before the parser checked it.
    const hostile = { ...base, result: 'fail' as const, lockChanges: [{ input: 'nixpkgs', change: 'updated' as const, old: { rev: 1 as unknown as string }, new: { rev: 'abc' } }] };
    expect(() => renderReport(hostile)).toThrow();
    const r = renderReportSafely(hostile, { host: 'web@<b>' });
    expect(r.error).toMatch(/^the report could not be rendered: /);
    expect(r.markdown.split('\n')[0]).toBe('❌ **nixos-rehearse: FAIL** for `web@\u200b&lt;b&gt;`');
    expect(renderReportSafely(base)).toEqual({ markdown: renderReport(base) });
  });
});
