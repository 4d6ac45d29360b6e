// The fast diagnosis playbook as data: the runbook's commands in the runbook's order, each with
// the runbook's Decision, and `zpool status` only where there is a pool.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PLAYBOOK, playbookFor } from '../../src/diagnosis/playbook.js';

const runbook = readFileSync(new URL('../../../shared/seed/nixos-25.11-install-runbook.txt', import.meta.url), 'utf8');
const playbookSection = runbook.slice(runbook.indexOf('Fast diagnosis playbook'), runbook.indexOf('Common mistakes: symptom'));

describe('PLAYBOOK', () => {
  it('is the runbook’s triage order: what is running, boot, storage, network, services, bottleneck', () => {
    expect(PLAYBOOK.map((s) => [s.id, s.command])).toEqual([
      ['what-is-running', 'readlink /run/current-system'],
      ['boot', 'journalctl -b -p err --no-pager | tail -n 20'],
      ['storage', 'zpool status'],
      ['network', 'ip -br a'],
      ['services', 'systemctl --failed --no-pager'],
      ['bottleneck', 'top -b -n 1 | head -n 12'],
    ]);
  });

  it('runs the runbook’s own commands (without its sudo: the control shell is root) and quotes its Decisions', () => {
    let at = 0;
    for (const s of PLAYBOOK) {
      // Each command appears in the playbook section after the previous one.
      const i = playbookSection.indexOf(`$ ${s.id === 'storage' ? 'sudo ' : ''}${s.command}`, at);
      expect(i, s.command).toBeGreaterThan(-1);
      at = i;
      expect(playbookSection).toContain(`Decision: ${s.decision}`);
    }
  });
});

describe('playbookFor', () => {
  it('keeps zpool status for ZFS', () => {
    expect(playbookFor('zfs')).toEqual([...PLAYBOOK]);
  });

  it('asks df instead on ext4 and Btrfs, in the same place', () => {
    for (const kind of ['ext4', 'btrfs'] as const) {
      const p = playbookFor(kind);
      expect(p.map((s) => s.id)).toEqual(PLAYBOOK.map((s) => s.id));
      const storage = p.find((s) => s.id === 'storage')!;
      expect(storage.command).toBe('df -h / /nix /boot');
      expect(p.some((s) => /zpool/.test(s.command))).toBe(false);
      // Worded from the runbook's Common mistakes 4 and its Btrfs note.
      expect(storage.decision).toContain('monitor free space');
      expect(runbook).toContain('watch for free space behavior');
    }
  });
});
