// The root kinds as modules (src/roots/): each gives the commands the runbook's Tasks 6–8 require
// for its layouts (../shared/seed/nixos-25.11-install-runbook.txt), its Task 15 read and verdict,
// its playbook question and its power-off; and nothing outside src/roots/ compares a kind with a
// name (the rest of the code asks the module).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LAYOUT, LAYOUTS, layoutByName } from '../../src/runbook/layouts.js';
import { type PlanContext, STEPS } from '../../src/runbook/plan.js';
import { ROOT_KINDS, type RootConfig, rootKind, rootKindNamed } from '../../src/roots/index.js';
import { btrfs } from '../../src/roots/btrfs.js';
import { ext4 } from '../../src/roots/ext4.js';
import { zfs } from '../../src/roots/zfs.js';

const runbook = readFileSync(new URL('../../../shared/seed/nixos-25.11-install-runbook.txt', import.meta.url), 'utf8');
/** The runbook's commands of one Task, continuation lines joined, prompt dropped. */
function runbookCommands(task: number): string[] {
  const text = runbook.slice(runbook.indexOf(`Task ${task}:`), runbook.indexOf(`Task ${task + 1}:`)).replace(/ \\\n\s*/g, ' ');
  return [...text.matchAll(/^cr0x@server:~\$ (.*)$/gm)].map((m) => m[1]!.trim());
}
const task = (n: number) => STEPS.find((s) => s.task === n)!;
const ctx = (layout: string, disks = ['/dev/nvme0n1']): PlanContext => ({ layout: layoutByName(layout), serials: disks.map((_, i) => `S${i}`), disks, flakeRef: '/tmp/rehearse/flake#server' });
const rc = <R>(root: R, disks = ['/dev/nvme0n1']) => ({ root, disks });

describe('the root kind table', () => {
  it('has one module per kind a layout names, each under its own kind, its fsType that of the root’s mounts', () => {
    const kinds = new Set(LAYOUTS.map((l) => LAYOUT[l].root.kind));
    expect(new Set(Object.keys(ROOT_KINDS))).toEqual(kinds);
    for (const [name, k] of Object.entries(ROOT_KINDS)) expect(k.kind).toBe(name);
    for (const l of LAYOUTS) {
      const k = rootKind(LAYOUT[l]);
      expect(k.kind).toBe(LAYOUT[l].root.kind);
      expect(LAYOUT[l].mounts.filter((m) => m.at !== '/boot').every((m) => m.fsType === k.fsType), l).toBe(true);
    }
    expect(() => rootKindNamed('xfs' as never)).toThrow(/unknown root kind 'xfs'/);
  });
});

describe('zfs', () => {
  const root = LAYOUT.zfs.root as Extract<RootConfig, { kind: 'zfs' }>;

  it('Task 6: the runbook’s zpool create, option for option; a mirror over both data partitions', () => {
    const [create, status] = zfs.create.commands(rc(root));
    expect(runbookCommands(6)[0]).toBe('sudo zpool create -f -o ashift=12 -O atime=off -O compression=zstd -O xattr=sa -O normalization=formD -O mountpoint=none -O acltype=posixacl rpool /dev/nvme0n1p2');
    expect(create).toBe(runbookCommands(6)[0]);
    expect(status).toBe('sudo zpool status rpool');
    const mirror = zfs.create.commands(rc(LAYOUT['zfs-mirror'].root as typeof root, ['/dev/nvme0n1', '/dev/nvme1n1']))[0];
    expect(mirror).toMatch(/ rpool mirror \/dev\/nvme0n1p2 \/dev\/nvme1n1p2$/);
    expect(task(6).commands(ctx('zfs'))).toEqual(zfs.create.commands(rc(root)));
  });

  it('Task 6: the runbook’s zpool status passes; a pool without the disk does not', () => {
    const shown = runbook.slice(runbook.indexOf('  pool: rpool'), runbook.indexOf('errors: No known data errors') + 30);
    expect(zfs.create.check(['', shown], rc(root))).toEqual([]);
    expect(zfs.create.check(['', shown], rc(root, ['/dev/nvme1n1']))).toEqual(['nvme1n1p2 is not in pool rpool']);
    expect(zfs.create.check(['', ''], rc(root))).toEqual(['zpool status shows no pool rpool']);
  });

  it('Task 7: the runbook’s five zfs create, then its zfs list; its listing passes', () => {
    const cmds = zfs.layout.commands(rc(root));
    expect(cmds).toEqual(runbookCommands(7));
    const at = runbook.indexOf('NAME               MOUNTPOINT  COMPRESSION');
    const list = runbook.slice(at, runbook.indexOf('\n\n', at));
    expect(zfs.layout.check(['', list], rc(root))).toEqual([]);
    expect(zfs.layout.check(['', list.replace(/^rpool\/local\/nix .*$/m, '')], rc(root))).toEqual(['dataset rpool/local/nix is missing']);
  });

  it('Task 8: mount -t zfs for the datasets, as the runbook', () => {
    const cmds = task(8).commands(ctx('zfs'));
    for (const c of ['sudo mount -t zfs rpool/local/root /mnt', 'sudo mount -t zfs rpool/local/nix /mnt/nix', 'sudo mount -t zfs rpool/safe/persist /mnt/persist', 'sudo mount /dev/nvme0n1p1 /mnt/boot']) {
      expect(runbookCommands(8)).toContain(c);
      expect(cmds).toContain(c);
    }
    expect(zfs.mountNeedsType).toBe(true);
  });

  it('Task 10, 15, the playbook and the power-off: datasets by name, zfs supported, zpool status -x, zpool status, zpool export', () => {
    expect(zfs.devicesByName).toBe('ZFS datasets by name');
    expect(zfs.supportedFilesystem).toBe('zfs');
    expect(zfs.health.read).toBe('zpool status -x');
    expect(zfs.health.verdict('all pools are healthy\n', 0)).toMatchObject({ id: 'pool-health', status: 'pass', summary: 'all pools are healthy' });
    expect(zfs.health.verdict('no pools available\n', 0)).toMatchObject({ status: 'fail', reason: 'no-pool' });
    expect(zfs.playbookStorage.command).toBe('zpool status');
    expect(zfs.powerOff(root)).toEqual(['if sudo zpool list rpool >/dev/null 2>&1; then sudo zpool export rpool; fi']);
  });
});

describe('ext4', () => {
  const root = LAYOUT.ext4.root as Extract<RootConfig, { kind: 'ext4' }>;

  it('Task 6: mkfs.ext4 on the data partition, blkid must say ext4', () => {
    expect(ext4.create.commands(rc(root))).toEqual(['sudo mkfs.ext4 -F -L nixos /dev/nvme0n1p2', 'sudo blkid -o export /dev/nvme0n1p2']);
    expect(ext4.create.check(['', 'DEVNAME=/dev/nvme0n1p2\nLABEL=nixos\nTYPE=ext4\n'], rc(root))).toEqual([]);
    expect(ext4.create.check(['', 'TYPE=btrfs\n'], rc(root))).toEqual(['/dev/nvme0n1p2 is not ext4']);
  });

  it('Task 7 is nothing; Task 8 mounts the partition without -t', () => {
    expect(ext4.layout.commands(rc(root))).toEqual(['true # ext4: one file system, no datasets']);
    expect(ext4.layout.check([''], rc(root))).toEqual([]);
    expect(task(8).commands(ctx('ext4'))).toEqual(['sudo mount /dev/nvme0n1p2 /mnt', 'sudo mkdir -p /mnt/boot', 'sudo mount /dev/nvme0n1p1 /mnt/boot', 'mount']);
  });

  it('Task 10, 15, the playbook and the power-off: by UUID, tune2fs, df, nothing to export', () => {
    expect(ext4.devicesByName).toBeUndefined();
    expect(ext4.supportedFilesystem).toBeUndefined();
    expect(ext4.health.read).toBe(`tune2fs -l "$(findmnt -no SOURCE / | sed 's/\\[.*\\]$//')"`);
    expect(ext4.health.verdict('Filesystem state:         clean\n', 0)).toMatchObject({ status: 'pass', summary: 'ext4: file system state clean' });
    expect(ext4.health.verdict('', 1)).toMatchObject({ status: 'fail', reason: 'check-failed', summary: 'ext4 health check failed (exit 1)' });
    expect(ext4.playbookStorage.command).toBe('df -h / /nix /boot');
    expect(ext4.powerOff(root)).toEqual([]);
  });
});

describe('btrfs', () => {
  const root = LAYOUT.btrfs.root as Extract<RootConfig, { kind: 'btrfs' }>;

  it('Task 6: mkfs.btrfs on the data partition, blkid must say btrfs', () => {
    expect(btrfs.create.commands(rc(root))).toEqual(['sudo mkfs.btrfs -f -L nixos /dev/nvme0n1p2', 'sudo blkid -o export /dev/nvme0n1p2']);
    expect(btrfs.create.check(['', 'TYPE=btrfs\n'], rc(root))).toEqual([]);
    expect(btrfs.create.check(['', 'TYPE=ext4\n'], rc(root))).toEqual(['/dev/nvme0n1p2 is not btrfs']);
  });

  it('Task 7: a subvolume each for /, /nix and /persist (the runbook’s datasets), listed', () => {
    expect(btrfs.layout.commands(rc(root))).toEqual([
      'sudo mount /dev/nvme0n1p2 /mnt',
      'sudo btrfs subvolume create /mnt/root',
      'sudo btrfs subvolume create /mnt/nix',
      'sudo btrfs subvolume create /mnt/persist',
      'sudo btrfs subvolume list /mnt',
      'sudo umount /mnt',
    ]);
    const list = 'ID 256 gen 7 top level 5 path root\nID 257 gen 7 top level 5 path nix\nID 258 gen 7 top level 5 path persist\n';
    expect(btrfs.layout.check(['', '', '', '', list, ''], rc(root))).toEqual([]);
    expect(btrfs.layout.check(['', '', '', '', list.replace(/.*path nix\n/, ''), ''], rc(root))).toEqual(['subvolume nix is missing']);
  });

  it('Task 8: each subvolume mounted with subvol=, without -t', () => {
    expect(task(8).commands(ctx('btrfs')).slice(0, 3)).toEqual(['sudo mount -o subvol=root /dev/nvme0n1p2 /mnt', 'sudo mkdir -p /mnt/nix', 'sudo mount -o subvol=nix /dev/nvme0n1p2 /mnt/nix']);
    expect(btrfs.mountNeedsType).toBe(false);
  });

  it('Task 15, the playbook and the power-off: btrfs device stats, df, nothing to export', () => {
    expect(btrfs.health.read).toBe('btrfs device stats /');
    expect(btrfs.health.verdict('[/dev/nvme0n1p2].corruption_errs  0\n', 0)).toMatchObject({ status: 'pass', summary: 'btrfs: no device errors' });
    expect(btrfs.health.verdict('', 0)).toMatchObject({ status: 'fail', reason: 'unreadable' });
    expect(btrfs.playbookStorage.command).toBe('df -h / /nix /boot');
    expect(btrfs.powerOff(root)).toEqual([]);
  });
});

describe('outside src/roots/', () => {
  const srcDir = fileURLToPath(new URL('../../src/', import.meta.url));
  const files = (dir: string): string[] => readdirSync(dir).flatMap((f) => (statSync(path.join(dir, f)).isDirectory() ? files(path.join(dir, f)) : [path.join(dir, f)]));
  const KIND = `['"\`](?:zfs|ext4|btrfs)['"\`]`;
  /** A comparison with a kind's name: `x === 'zfs'`, `'ext4' !== x`, `case 'btrfs':`, `.includes('zfs')`. */
  const COMPARES = new RegExp(`[!=]==?\\s*${KIND}|${KIND}\\s*[!=]==?|\\bcase\\s+${KIND}|\\.(?:includes|startsWith)\\(${KIND}\\)`);

  it('the pattern sees the comparisons the modules replaced', () => {
    for (const s of ["ctx.layout.root.kind === 'zfs' ? x : ''", "layoutKind !== 'zfs'", "if (fsType === 'btrfs') {", "env.rootKind === 'ext4'", "m.fsType === 'zfs' ? '-t zfs ' : ''", "!hw.supportedFilesystems.includes('zfs')"]) expect(s).toMatch(COMPARES);
    expect("kind: 'zfs';").not.toMatch(COMPARES);
  });

  it('no file compares a root kind (or a mount’s fsType) with a kind’s name: it asks the module', () => {
    const offenders = files(srcDir)
      .filter((f) => f.endsWith('.ts') && !f.startsWith(path.join(srcDir, 'roots') + path.sep))
      .flatMap((f) => readFileSync(f, 'utf8').split('\n').map((line, i) => [`${path.relative(srcDir, f)}:${i + 1}: ${line.trim()}`, line] as const))
      .filter(([, line]) => COMPARES.test(line))
      .map(([where]) => where);
    expect(offenders).toEqual([]);
  });
});
