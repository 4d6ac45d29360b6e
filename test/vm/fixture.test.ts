// The fixture installer ISO, booted once by the global setup through the engine's generic ISO
// path (its own grub.cfg's installer entry, direct kernel boot through OVMF, the ISO attached)
// and restored here: the runbook's Tasks 1–8 verbatim on one disk. The install (Tasks 9–13),
// the installed system's details (what nixos-install wrote, the datasets, logins) and the ext4
// and btrfs roots are proven inside the full rehearsals (rehearsal.test.ts, action.test.ts).
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startInstaller, type Installer } from '../../src/installer.js';
import { timeoutScale } from '../../src/qemu/accel.js';
import { testLogDir } from '../helpers/paths.js';
import { savedInstaller } from '../helpers/shared.js';

const fx = inject('fixture');
const DISKS = [
  { id: 'disk0', serial: 'REHEARSE0', size: '8G' },
  { id: 'disk1', serial: 'REHEARSE1', size: '8G' },
];

// The runbook's Tasks 3–8 for one disk, as printed in ../shared/seed/nixos-25.11-install-runbook.txt.
const partition = (d: string) => [
  `sudo sgdisk --zap-all ${d}`,
  `sudo sgdisk -n1:1M:+1G -t1:EF00 -c1:"EFI System" ${d}`,
  `sudo sgdisk -n2:0:0 -t2:BF01 -c2:"ZFS" ${d}`,
];
const DATASETS = [
  'sudo zfs create -o mountpoint=none rpool/local',
  'sudo zfs create -o mountpoint=none rpool/safe',
  'sudo zfs create -o mountpoint=legacy rpool/local/root',
  'sudo zfs create -o mountpoint=legacy -o compression=zstd rpool/local/nix',
  'sudo zfs create -o mountpoint=legacy rpool/safe/persist',
];
const MOUNTS = [
  'sudo mount -t zfs rpool/local/root /mnt',
  'sudo mkdir -p /mnt/nix /mnt/persist /mnt/boot',
  'sudo mount -t zfs rpool/local/nix /mnt/nix',
  'sudo mount -t zfs rpool/safe/persist /mnt/persist',
  'sudo mount /dev/nvme0n1p1 /mnt/boot',
];
const zpoolCreate = (vdevs: string) =>
  `sudo zpool create -f -o ashift=12 -O atime=off -O compression=zstd -O xattr=sa -O normalization=formD -O mountpoint=none -O acltype=posixacl rpool ${vdevs}`;

describe('fixture installer ISO', () => {
  let inst: Installer;

  beforeAll(async () => {
    const state = savedInstaller();
    inst = await startInstaller({
      name: 'fixture-installer',
      iso: fx.iso,
      accel: state.accel,
      timeoutScale: timeoutScale(state.accel),
      disks: DISKS,
      restore: state,
      logDir: testLogDir('fixture-installer'),
    });
  });
  afterAll(async () => {
    await inst?.machine.stop();
  });

  it('booted through its own grub.cfg installer entry into the nixos autologin with sudo', async () => {
    const m = inst.machine;
    // The 25.11 menu's first entry, the release's full version in its title (iso-image.nix).
    expect(inst.boot.entry.title).toMatch(/^NixOS 25\.11\.\d{8}\.[0-9a-f]{7} Installer \(Linux LTS\)$/);
    expect(inst.boot.kernel).toBeTruthy();
    const cmdline = await m.succeed('cat /proc/cmdline');
    expect(cmdline).toContain(`root=LABEL=${fx.volumeId}`);
    expect(cmdline).toMatch(/init=\/nix\/store\/[0-9a-z]{32}-nixos-system-nixos-25\.11[^ ]*\/init/);
    expect(cmdline).toContain('console=ttyS0,115200n8');
    expect(cmdline).not.toContain('isoboot');
    expect(readFileSync(savedInstaller().bootSerialLog!, 'utf8')).toContain('<<< Welcome to NixOS 25.11 (x86_64) - ttyS0 >>>');
    expect(readFileSync(savedInstaller().bootSerialLog!, 'utf8')).toMatch(/nixos login: nixos \(automatic login\)/);
    expect((await m.succeed('hostid')).trim()).toBe(fx.hostId);
    expect((await m.succeed('su nixos -c "sudo -n id -u"')).trim()).toBe('0');
    expect(await m.succeed('readlink /run/current-system')).toMatch(/-nixos-system-nixos-25\.11/);
  });

  it('is NixOS 25.11’s software generation, and its store is the real Nix’s: the manifest and the live system agree', async () => {
    const m = inst.machine;
    expect(fx.kernelVersion).toMatch(/^6\.12\./);
    expect(fx.zfsVersion).toMatch(/^2\.3\./);
    expect(fx.packages['nix-bin']).toMatch(/^2\.26\./);
    expect((await m.succeed('uname -r')).trim()).toBe(fx.kernelVersion);
    expect((await m.succeed('nix --version')).trim()).toBe(`nix (Nix) ${fx.packages['nix-bin']!.replace(/\+.*$/, '')}`);
    // The kernel and initrd the boot menu names are valid paths of the ISO's store (registered
    // by the real Nix when the fixture was built), and nix-command is off, as on the real ISO.
    const kernelPath = inst.boot.entry.kernel.replace(/^\/boot\/+/, '/').replace(/\/bzImage$/, '');
    expect((await m.succeed(`nix-store --verify-path ${kernelPath} && echo valid`)).trim()).toBe('valid');
    const plain = await m.run('nix path-info /run/current-system', 60);
    expect(plain.exitCode).toBe(1);
    expect(plain.output).toContain("error: experimental Nix feature 'nix-command' is disabled");
  });

  it('runs the runbook Tasks 1–8 verbatim on one disk', async () => {
    const m = inst.machine;
    expect(await m.succeed('ls /sys/firmware/efi')).toContain('efivars'); // Task 1
    const lsblk = await m.succeed('lsblk -o NAME,SIZE,TYPE,MODEL,SERIAL,FSTYPE,MOUNTPOINTS'); // Task 2
    expect(lsblk).toMatch(/^nvme0n1\s+8G\s+disk\s+QEMU NVMe Ctrl\s+REHEARSE0/m);
    expect(lsblk).toMatch(/^nvme1n1\s+8G\s+disk\s+QEMU NVMe Ctrl\s+REHEARSE1/m);
    for (const c of partition('/dev/nvme0n1')) await m.succeed(c); // Task 4
    const table = await m.succeed('sudo sgdisk -p /dev/nvme0n1'); // Task 3
    expect(table).toMatch(/^\s+1\s+2048\s+2099199\s+1024\.0 MiB\s+EF00\s+EFI System$/m);
    expect(table).toMatch(/^\s+2\s+2099200\s+\d+\s+[\d.]+ GiB\s+BF01\s+ZFS$/m);
    expect(await m.succeed('sudo mkfs.fat -F 32 -n EFI /dev/nvme0n1p1')).toMatch(/mkfs\.fat 4\.2/); // Task 5
    await m.succeed(zpoolCreate('/dev/nvme0n1p2')); // Task 6
    const status = await m.succeed('sudo zpool status');
    expect(status).toMatch(/^ state: ONLINE$/m);
    expect(status).toMatch(/^\s+rpool\s+ONLINE\s+0\s+0\s+0$/m);
    expect(status).toMatch(/^\s+nvme0n1p2\s+ONLINE\s+0\s+0\s+0$/m);
    expect(status).toContain('errors: No known data errors');
    for (const c of DATASETS) await m.succeed(c); // Task 7
    const list = await m.succeed('sudo zfs list -o name,mountpoint,compression');
    for (const [name, mp] of [['rpool', 'none'], ['rpool/local', 'none'], ['rpool/local/nix', 'legacy'], ['rpool/local/root', 'legacy'], ['rpool/safe', 'none'], ['rpool/safe/persist', 'legacy']]) {
      expect(list).toMatch(new RegExp(`^${name}\\s+${mp}\\s+zstd$`, 'm'));
    }
    const props = await m.succeed('zfs get -H -o property,value atime,xattr,normalization,acltype rpool; zpool get -H -o value ashift rpool');
    expect(props).toMatch(/atime\toff/);
    // `-O xattr=sa`: OpenZFS 2.3 (NixOS 25.11's) reports that value as `on` (as the guest's own zfs prints it).
    expect(props).toMatch(/xattr\t(sa|on)/);
    expect(props).toMatch(/normalization\tformD/);
    expect(props).toMatch(/acltype\tposix/);
    expect(props.trim().split('\n').pop()).toBe('12');
    for (const c of MOUNTS) await m.succeed(c); // Task 8
    const mounts = await m.succeed('mount | grep " /mnt"');
    expect(mounts).toMatch(/^rpool\/local\/root on \/mnt type zfs \(rw,/m);
    expect(mounts).toMatch(/^rpool\/local\/nix on \/mnt\/nix type zfs/m);
    expect(mounts).toMatch(/^rpool\/safe\/persist on \/mnt\/persist type zfs/m);
    expect(mounts).toMatch(/^\/dev\/nvme0n1p1 on \/mnt\/boot type vfat \(rw,relatime,fmask=0022,dmask=0022/m);
    await m.succeed('sudo umount -R /mnt && sudo zpool destroy rpool');
  });
});
