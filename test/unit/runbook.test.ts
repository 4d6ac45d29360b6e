// The plan's parsers and checks against the runbook's own transcripts
// (../shared/seed/nixos-25.11-install-runbook.txt, copied to test/fixtures/runbook/*.runbook.*)
// and outputs recorded from the fixture installer (test/fixtures/runbook/*.fixture.*).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LAYOUT, LAYOUTS, layoutByName } from '../../src/runbook/layouts.js';
import { parseColumns, parseHardwareConfig, parseMountLines, parseSgdiskPrint, parseZpoolStatus, zpoolProblems } from '../../src/runbook/parsers.js';
import { type PlanContext, STEPS, WrongDiskError, resolveDisks, splitFlakeRef } from '../../src/runbook/plan.js';

const fx = (name: string) => readFileSync(new URL(`../fixtures/runbook/${name}`, import.meta.url), 'utf8');
const step = (id: string) => STEPS.find((s) => s.id === id)!;
const ctx = (layout = 'zfs', disks = ['/dev/nvme0n1']): PlanContext => ({ layout: layoutByName(layout), serials: disks.map((_, i) => `S${i}`), disks, flakeRef: '/tmp/rehearse/flake#server' });

describe('runbook parsers', () => {
  it('reads sgdisk -p (Task 3) partition rows with their type codes', () => {
    const p = parseSgdiskPrint(fx('sgdisk-p.runbook.txt'));
    expect(p.disk).toBe('/dev/nvme0n1');
    expect(p.partitions).toEqual([
      { number: 1, start: 2048, end: 2099199, size: '1024.0 MiB', code: 'EF00', name: 'EFI System' },
      { number: 2, start: 2099200, end: 2000408575, size: '952.9 GiB', code: 'BF01', name: 'ZFS' },
    ]);
  });

  it('reads zpool status: a healthy pool has no problems, a DEGRADED one names the missing disk', () => {
    const [ok] = parseZpoolStatus(fx('zpool-status.runbook.txt'));
    expect(ok).toMatchObject({ pool: 'rpool', state: 'ONLINE', errors: 'No known data errors' });
    expect(ok!.devices.map((d) => [d.name, d.depth, d.state])).toEqual([['rpool', 0, 'ONLINE'], ['nvme0n1p2', 1, 'ONLINE']]);
    expect(zpoolProblems(ok!)).toEqual([]);
    const [bad] = parseZpoolStatus(fx('zpool-status-degraded.runbook.txt'));
    expect(bad!.status).toBe('One or more devices could not be opened.');
    expect(zpoolProblems(bad!)).toEqual(['pool rpool is DEGRADED', 'rpool is DEGRADED', 'nvme1n1p2 is UNAVAIL (cannot open)']);
  });

  it('counts checksum errors as a problem even when every device is ONLINE', () => {
    const text = fx('zpool-status.runbook.txt').replace(/nvme0n1p2    ONLINE       0     0     0/, 'nvme0n1p2    ONLINE       0     0     3');
    expect(zpoolProblems(parseZpoolStatus(text)[0]!)).toEqual(['nvme0n1p2 has 3 checksum errors']);
  });

  it('reads zfs list columns, mount lines and the hardware configuration', () => {
    expect(parseColumns(fx('zfs-list.runbook.txt')).find((r) => r.name === 'rpool/local/nix')).toEqual({ name: 'rpool/local/nix', mountpoint: 'legacy', compression: 'zstd' });
    expect(parseMountLines(fx('mount.runbook.txt')).map((m) => [m.source, m.target, m.fsType])).toEqual([
      ['rpool/local/root', '/mnt', 'zfs'],
      ['rpool/local/nix', '/mnt/nix', 'zfs'],
      ['rpool/safe/persist', '/mnt/persist', 'zfs'],
      ['/dev/nvme0n1p1', '/mnt/boot', 'vfat'],
    ]);
    const hw = parseHardwareConfig(fx('hardware-configuration.runbook.nix'));
    expect(hw.supportedFilesystems).toEqual(['zfs']);
    expect(hw.fileSystems['/boot']).toEqual({ device: '/dev/disk/by-uuid/ABCD-EF01', fsType: 'vfat', options: [] });
    expect(Object.keys(hw.fileSystems)).toEqual(['/', '/nix', '/persist', '/boot']);
  });
});

describe('the plan', () => {
  it('has one step per runbook Task 1–13, with stable ids and the runbook Decision', () => {
    expect(STEPS.map((s) => s.task)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
    expect(STEPS.map((s) => s.id)).toEqual([
      'task-01-uefi', 'task-02-disks', 'task-03-partition-table', 'task-04-partition', 'task-05-esp', 'task-06-root-filesystem',
      'task-07-datasets', 'task-08-mount', 'task-09-generate-config', 'task-10-hardware-config', 'task-11-preflight', 'task-12-install', 'task-13-boot-entries',
    ]);
    const runbook = readFileSync(new URL('../../../shared/seed/nixos-25.11-install-runbook.txt', import.meta.url), 'utf8').replace(/[’“”]/g, "'");
    for (const id of ['task-01-uefi', 'task-06-root-filesystem', 'task-08-mount', 'task-12-install', 'task-13-boot-entries']) {
      expect(runbook).toContain(step(id).decision.replace(/[’“”]/g, "'"));
    }
  });

  it('runs the runbook commands for the zfs layout, options as Task 6 lists them', () => {
    const c = ctx();
    expect(step('task-04-partition').commands(c).slice(0, 3)).toEqual([
      'sudo sgdisk --zap-all /dev/nvme0n1',
      'sudo sgdisk -n1:1M:+1G -t1:EF00 -c1:"EFI System" /dev/nvme0n1',
      'sudo sgdisk -n2:0:0 -t2:BF01 -c2:"ZFS" /dev/nvme0n1',
    ]);
    expect(step('task-05-esp').commands(c)[0]).toBe('sudo mkfs.fat -F 32 -n EFI /dev/nvme0n1p1');
    expect(step('task-06-root-filesystem').commands(c)[0]).toBe(
      'sudo zpool create -f -o ashift=12 -O atime=off -O compression=zstd -O xattr=sa -O normalization=formD -O mountpoint=none -O acltype=posixacl rpool /dev/nvme0n1p2',
    );
    expect(step('task-07-datasets').commands(c)).toContain('sudo zfs create -o mountpoint=legacy -o compression=zstd rpool/local/nix');
    expect(step('task-08-mount').commands(c)).toEqual([
      'sudo mount -t zfs rpool/local/root /mnt',
      'sudo mkdir -p /mnt/nix',
      'sudo mount -t zfs rpool/local/nix /mnt/nix',
      'sudo mkdir -p /mnt/persist',
      'sudo mount -t zfs rpool/safe/persist /mnt/persist',
      'sudo mkdir -p /mnt/boot',
      'sudo mount /dev/nvme0n1p1 /mnt/boot',
      'mount',
    ]);
    expect(step('task-12-install').commands(c)).toEqual(['sudo nixos-install --root /mnt --no-root-passwd --flake /tmp/rehearse/flake#server']);
  });

  it('Task 12 passes on nixos-install ending in "installation finished!", and fails on a refused ESP even then', () => {
    const real = readFileSync('test/fixtures/diagnosis/nixos-install.output.txt', 'utf8');
    const check = step('task-12-install').check!;
    const c = ctx('zfs', ['/dev/nvme0n1']);
    expect(check([real], c)).toEqual([]);
    // bootctl's words (systemd src/shared/find-esp.c) when /mnt/boot is not the mounted ESP.
    const refused = real.replace('installing the boot loader...\n', 'installing the boot loader...\nFile system "/boot" is not a FAT EFI System Partition (ESP) file system.\n');
    expect(check([refused], c)).toEqual(['the boot loader install failed: File system "/boot" is not a FAT EFI System Partition (ESP) file system.']);
    expect(check([real.replace('installation finished!', '')], c)).toEqual(['nixos-install did not print "installation finished!"']);
  });

  it('mirrors across both disks and formats an ESP on each', () => {
    const c = ctx('zfs-mirror', ['/dev/nvme0n1', '/dev/nvme1n1']);
    expect(step('task-06-root-filesystem').commands(c)[0]).toMatch(/ rpool mirror \/dev\/nvme0n1p2 \/dev\/nvme1n1p2$/);
    expect(step('task-05-esp').commands(c).slice(0, 2)).toEqual(['sudo mkfs.fat -F 32 -n EFI /dev/nvme0n1p1', 'sudo mkfs.fat -F 32 -n EFI /dev/nvme1n1p1']);
    const single = fx('zpool-status.runbook.txt');
    expect(step('task-06-root-filesystem').check!(['', single], c)).toEqual(['nvme1n1p2 is not in pool rpool', 'pool rpool has no mirror vdev']);
  });

  it('checks Task 4, 6, 7, 8 and 10 outputs the way the runbook reads them', () => {
    const c = ctx();
    const p = fx('sgdisk-p.runbook.txt');
    expect(step('task-04-partition').check!([p], c)).toEqual([]);
    expect(step('task-04-partition').check!([p.replace('EF00', '8300')], c)).toEqual(['/dev/nvme0n1: partition 1 is 8300, not EF00 (EFI System)']);
    expect(step('task-06-root-filesystem').check!(['', fx('zpool-status.runbook.txt')], c)).toEqual([]);
    expect(step('task-06-root-filesystem').check!(['', fx('zpool-status-degraded.runbook.txt')], c)).toContain('pool rpool is DEGRADED');
    expect(step('task-07-datasets').check!([fx('zfs-list.runbook.txt')], c)).toEqual([]);
    // What OpenZFS really prints: the COMPRESS header (recorded on the fixture installer).
    expect(step('task-07-datasets').check!([fx('zfs-list.fixture.txt')], c)).toEqual([]);
    expect(step('task-07-datasets').check!([fx('zfs-list.fixture.txt').replace(/(rpool\/safe\/persist\s+legacy\s+)zstd/, '$1lz4')], c)).toEqual([
      'rpool/safe/persist has compression lz4, not zstd',
    ]);
    expect(step('task-07-datasets').check!([fx('zfs-list.runbook.txt').replace(/rpool\/local\/nix .*\n/, '')], c)).toEqual(['dataset rpool/local/nix is missing']);
    expect(step('task-08-mount').check!([fx('mount.runbook.txt')], c)).toEqual([]);
    expect(step('task-08-mount').check!([fx('mount.runbook.txt').replace(/.*\/mnt\/boot.*\n/, '')], c)).toEqual(['/mnt/boot is not mounted']);
    const hw = fx('hardware-configuration.runbook.nix');
    expect(step('task-10-hardware-config').check!([hw, 'ABCD-EF01\n', ''], c)).toEqual([]);
    expect(step('task-10-hardware-config').check!([hw.replace('"rpool/local/nix"', '"/dev/nvme0n1p2"'), 'ABCD-EF01\n', ''], c)).toEqual([
      'fileSystems."/nix" has device /dev/nvme0n1p2, expected rpool/local/nix (ZFS datasets by name)',
    ]);
    expect(step('task-10-hardware-config').check!([hw.replace('[ "zfs" ]', '[ "btrfs" ]'), 'ABCD-EF01\n', ''], c)).toEqual(['boot.supportedFilesystems does not include "zfs"']);
  });

  it('Task 13 fails when the ESP holds no entries (ESP not mounted during the install)', () => {
    const ls = 'total 16\ndrwxr-xr-x 2 root root 4096 Jan  1 00:10 .\ndrwxr-xr-x 3 root root 4096 Jan  1 00:10 ..\n-rwxr-xr-x 1 root root  420 Jan  1 00:10 nixos-generation-1.conf\n';
    const top = '/nix/store/8m7yv0rq5l0sv3fg9d1w0j8yq1w5bqxa-nixos-system-server-25.11.20260205.abcdef0\n';
    expect(step('task-13-boot-entries').check!([ls, 'timeout 5\ndefault nixos-generation-1.conf\nconsole-mode keep\n', top], ctx())).toEqual([]);
    expect(step('task-13-boot-entries').check!(['total 0\n', '', top], ctx())).toEqual([
      '/mnt/boot/loader/entries has no nixos-generation-1.conf',
      'loader.conf does not default to nixos-generation-1.conf',
    ]);
  });

  it('the wrong-disk guard maps serials to devices and refuses a disk it did not create', () => {
    const lsblk = JSON.stringify({ blockdevices: [
      { name: 'nvme0n1', serial: 'NRABC123D0', type: 'disk', size: '8G', model: 'QEMU NVMe Ctrl' },
      { name: 'nvme1n1', serial: 'NRABC123D1', type: 'disk', size: '8G', model: 'QEMU NVMe Ctrl' },
      { name: 'sr0', serial: 'QM00001', type: 'rom', size: '110M', model: 'QEMU DVD-ROM' },
    ] });
    expect(resolveDisks(lsblk, ['NRABC123D1', 'NRABC123D0'])).toEqual(['/dev/nvme1n1', '/dev/nvme0n1']);
    expect(() => resolveDisks(lsblk, ['NRZZZZZZD0'])).toThrow(WrongDiskError);
    expect(() => resolveDisks(lsblk, ['NRZZZZZZD0'])).toThrow(/serial NRZZZZZZD0 is not visible.*Nothing was written/);
    const c = ctx();
    expect(step('task-02-disks').check!(['', lsblk], { ...c, serials: ['NRABC123D0'] })).toEqual([]);
  });

  it('every layout is data the same plan reads', () => {
    expect(LAYOUTS).toEqual(['zfs', 'zfs-mirror', 'ext4', 'btrfs']);
    expect(LAYOUT['zfs-mirror'].disks).toBe(2);
    expect(step('task-06-root-filesystem').commands(ctx('ext4'))[0]).toBe('sudo mkfs.ext4 -F -L nixos /dev/nvme0n1p2');
    expect(step('task-07-datasets').commands(ctx('btrfs'))).toContain('sudo btrfs subvolume create /mnt/nix');
    expect(step('task-08-mount').commands(ctx('btrfs'))[0]).toBe('sudo mount -o subvol=root /dev/nvme0n1p2 /mnt');
    expect(() => layoutByName('xfs')).toThrow(/unknown layout 'xfs': choose one of zfs, zfs-mirror, ext4, btrfs/);
  });

  it('a flake reference must name its host', () => {
    expect(splitFlakeRef('/repo#server')).toEqual(['/repo', 'server']);
    expect(splitFlakeRef('#server')).toEqual(['.', 'server']);
    expect(() => splitFlakeRef('/repo')).toThrow(/names no host: write it as <path-or-url>#<host>/);
    expect(() => splitFlakeRef('/repo#')).toThrow(/names no host/);
  });
});
