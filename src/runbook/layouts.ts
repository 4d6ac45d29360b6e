// Disk layouts the rehearsal can install, as data the plan (plan.ts) reads: which disks, which
// partitions, how the root is built and mounted. The ZFS layouts are the runbook's Tasks 4–8
// (../shared/seed/nixos-25.11-install-runbook.txt); ext4 and Btrfs are its "notes for
// ext4/Btrfs where it changes decisions". Pure data: what each root kind does with its config
// is its module's (src/roots/<kind>.ts).
import type { RootConfig, ZfsRoot } from '../roots/index.js';

export type { BtrfsRoot, Ext4Root, RootConfig, ZfsRoot } from '../roots/index.js';

export type LayoutName = 'zfs' | 'zfs-mirror' | 'ext4' | 'btrfs';
export const LAYOUTS: LayoutName[] = ['zfs', 'zfs-mirror', 'ext4', 'btrfs'];

/** A file system mounted under /mnt for the install (Task 8). */
export interface Mount {
  /** Mount point inside the installed system ("/", "/nix", ...). */
  at: string;
  /** What `mount` takes: a dataset name, or `{data}` / `{esp}` for the first disk's partitions. */
  source: string;
  fsType: 'zfs' | 'ext4' | 'btrfs' | 'vfat';
  options?: string;
}

export interface Layout {
  name: LayoutName;
  title: string;
  /** NVMe disks the rehearsal creates; every one is partitioned ESP + data (a mirror boots from either). */
  disks: number;
  /** Task 4: the data partition's GPT type code and name (the ESP is EF00 "EFI System", 1 GiB). */
  dataPartition: { code: string; name: string };
  /** The root's kind and its config; src/roots/<kind>.ts is what the kind does with it. */
  root: RootConfig;
  /** Task 8, in mount order; `/boot` is the first disk's ESP. */
  mounts: Mount[];
}

// Task 6 of the runbook, option for option.
const RUNBOOK_POOL = { ashift: '12' };
const RUNBOOK_FS = {
  atime: 'off',
  compression: 'zstd',
  xattr: 'sa',
  normalization: 'formD',
  mountpoint: 'none',
  acltype: 'posixacl',
};
// Task 7.
const RUNBOOK_DATASETS: ZfsRoot['datasets'] = [
  { name: 'rpool/local', properties: { mountpoint: 'none' } },
  { name: 'rpool/safe', properties: { mountpoint: 'none' } },
  { name: 'rpool/local/root', properties: { mountpoint: 'legacy' } },
  { name: 'rpool/local/nix', properties: { mountpoint: 'legacy', compression: 'zstd' } },
  { name: 'rpool/safe/persist', properties: { mountpoint: 'legacy' } },
];
const ESP_MOUNT: Mount = { at: '/boot', source: '{esp}', fsType: 'vfat' };
const ZFS_MOUNTS: Mount[] = [
  { at: '/', source: 'rpool/local/root', fsType: 'zfs' },
  { at: '/nix', source: 'rpool/local/nix', fsType: 'zfs' },
  { at: '/persist', source: 'rpool/safe/persist', fsType: 'zfs' },
  ESP_MOUNT,
];

const zfs = (name: 'zfs' | 'zfs-mirror', vdev: 'single' | 'mirror'): Layout => ({
  name,
  title: vdev === 'mirror' ? 'ZFS root, two-disk mirror (ESP on each disk)' : 'ZFS root on one disk',
  disks: vdev === 'mirror' ? 2 : 1,
  dataPartition: { code: 'BF01', name: 'ZFS' },
  root: { kind: 'zfs', pool: 'rpool', poolProperties: RUNBOOK_POOL, fsProperties: RUNBOOK_FS, vdev, datasets: RUNBOOK_DATASETS },
  mounts: ZFS_MOUNTS,
});

export const LAYOUT: Record<LayoutName, Layout> = {
  zfs: zfs('zfs', 'single'),
  'zfs-mirror': zfs('zfs-mirror', 'mirror'),
  ext4: {
    name: 'ext4',
    title: 'ext4 root on one disk',
    disks: 1,
    dataPartition: { code: '8300', name: 'root' },
    root: { kind: 'ext4', label: 'nixos' },
    mounts: [{ at: '/', source: '{data}', fsType: 'ext4' }, ESP_MOUNT],
  },
  btrfs: {
    name: 'btrfs',
    title: 'Btrfs root on one disk, subvolumes root, nix, persist',
    disks: 1,
    dataPartition: { code: '8300', name: 'root' },
    root: { kind: 'btrfs', label: 'nixos', subvolumes: ['root', 'nix', 'persist'] },
    mounts: [
      { at: '/', source: '{data}', fsType: 'btrfs', options: 'subvol=root' },
      { at: '/nix', source: '{data}', fsType: 'btrfs', options: 'subvol=nix' },
      { at: '/persist', source: '{data}', fsType: 'btrfs', options: 'subvol=persist' },
      ESP_MOUNT,
    ],
  },
};

export function layoutByName(name: string): Layout {
  const l = LAYOUT[name as LayoutName];
  if (!l) throw new Error(`unknown layout '${name}': choose one of ${LAYOUTS.join(', ')}`);
  return l;
}
