// What more than one root kind uses: partition names, `-o k=v` lists, the blkid check of a
// fresh file system, and the playbook's free-space question. Pure.
import type { PlaybookStep } from '../diagnosis/playbook.js';
import type { RootContext } from './types.js';

/** Partition N of a disk: nvme0n1 -> nvme0n1p1, sda -> sda1. */
export const part = (disk: string, n: number) => `${disk}${/\d$/.test(disk) ? 'p' : ''}${n}`;

/** The first disk's data partition (Task 4's partition 2), where a single-device root goes. */
export const dataPartition = (ctx: Pick<RootContext<unknown>, 'disks'>) => part(ctx.disks[0]!, 2);

/** `-o k=v -o k2=v2` for a flag and a property list. */
export const props = (flag: string, p: Record<string, string>) => Object.entries(p).map(([k, v]) => `${flag} ${k}=${v}`).join(' ');

/** Task 6 on a single file system: mkfs, then `blkid -o export` must say TYPE=<fsType>. */
export function mkfsStep(fsType: string, mkfs: (label: string, dev: string) => string) {
  return {
    commands: (ctx: RootContext<{ label: string }>) => [mkfs(ctx.root.label, dataPartition(ctx)), `sudo blkid -o export ${dataPartition(ctx)}`],
    check: (outs: string[], ctx: RootContext<unknown>) => (new RegExp(`^TYPE=${fsType}$`, 'm').test(outs[outs.length - 1] ?? '') ? [] : [`${dataPartition(ctx)} is not ${fsType}`]),
  };
}

// ext4 and Btrfs have no pool to ask; the runbook's storage notes for them are about free space
// ("watch for free space behavior") and Common mistakes 4 ("monitor free space"), so the storage
// question becomes df. The Decision is worded from those two passages.
export const STORAGE_FREE_SPACE: PlaybookStep = {
  id: 'storage',
  title: 'Storage health (free space on /, /nix and the ESP)',
  command: 'df -h / /nix /boot',
  decision: 'If / or /nix is nearly full, /nix is growing: set a GC policy and generation retention, and monitor free space. On Btrfs, watch for free space behavior.',
  runbook: 'Fast diagnosis playbook: storage health; Ext4/Btrfs differences; Common mistakes 4',
};
