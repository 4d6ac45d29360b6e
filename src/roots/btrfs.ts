// Btrfs root: one file system on the data partition, subvolumes for /, /nix and /persist (the
// runbook's "notes for ext4/Btrfs").
import { checkBtrfsHealth } from '../verify/checks.js';
import { STORAGE_FREE_SPACE, dataPartition, mkfsStep } from './shared.js';
import type { RootKind } from './types.js';

export interface BtrfsRoot {
  kind: 'btrfs';
  label: string;
  subvolumes: string[];
}

export const btrfs: RootKind<BtrfsRoot> = {
  kind: 'btrfs',
  title: 'Btrfs file system with subvolumes',
  fsType: 'btrfs',
  create: mkfsStep('btrfs', (label, dev) => `sudo mkfs.btrfs -f -L ${label} ${dev}`),
  layout: {
    commands: (ctx) => [
      `sudo mount ${dataPartition(ctx)} /mnt`,
      ...ctx.root.subvolumes.map((s) => `sudo btrfs subvolume create /mnt/${s}`),
      'sudo btrfs subvolume list /mnt',
      'sudo umount /mnt',
    ],
    check: (outs, { root }) => {
      const list = outs[outs.length - 2] ?? '';
      return root.subvolumes.filter((s) => !new RegExp(`path ${s}$`, 'm').test(list)).map((s) => `subvolume ${s} is missing`);
    },
  },
  mountNeedsType: false,
  health: { read: 'btrfs device stats /', verdict: checkBtrfsHealth },
  playbookStorage: STORAGE_FREE_SPACE,
  powerOff: () => [],
};
