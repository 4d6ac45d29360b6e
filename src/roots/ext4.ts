// ext4 root: one file system on the data partition (the runbook's "notes for ext4/Btrfs").
import { checkExt4Health } from '../verify/checks.js';
import { STORAGE_FREE_SPACE, mkfsStep } from './shared.js';
import type { RootKind } from './types.js';

export interface Ext4Root {
  kind: 'ext4';
  label: string;
}

/** The root device as mount shows it, without a Btrfs-style `[subvol]` suffix. */
export const ROOT_DEVICE = "findmnt -no SOURCE / | sed 's/\\[.*\\]$//'";

export const ext4: RootKind<Ext4Root> = {
  kind: 'ext4',
  title: 'ext4 file system',
  fsType: 'ext4',
  create: mkfsStep('ext4', (label, dev) => `sudo mkfs.ext4 -F -L ${label} ${dev}`),
  layout: { commands: () => ['true # ext4: one file system, no datasets'], check: () => [] },
  mountNeedsType: false,
  health: { read: `tune2fs -l "$(${ROOT_DEVICE})"`, verdict: checkExt4Health },
  playbookStorage: STORAGE_FREE_SPACE,
  powerOff: () => [],
};
