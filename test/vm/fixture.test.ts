// The fixture installer ISO, booted once by the global setup through the engine's generic ISO
// path (its own grub.cfg's installer entry, direct kernel boot through OVMF, the ISO attached)
// and restored here: the runbook's Tasks 1–8 verbatim on one disk. Then the installed system
// that rehearsal.test.ts kept (zfs-mirror), booted from its NVMe disks through the firmware and
// systemd-boot: what nixos-install wrote (hardware configuration, boot entries, loaders, the
// generation), systemd, sshd, a key login, password and root logins refused, `nix path-info`.
// The install itself (Tasks 9–13 on a mirror), ext4 and btrfs roots, the rebuild and both
// rollbacks are proven by the full rehearsals (rehearsal.test.ts, action.test.ts).
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { execa } from 'execa';
import { startInstaller, type Installer } from '../../src/installer.js';
import { timeoutScale } from '../../src/qemu/accel.js';
import { Machine } from '../../src/qemu/machine.js';
import { readSavedInstall } from '../../src/rehearsal.js';
import { testLogDir } from '../helpers/paths.js';
import { installedBase, savedInstaller } from '../helpers/shared.js';

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
    expect(inst.boot.entry.title).toBe('NixOS 25.11 Installer (Linux LTS)');
    expect(inst.boot.kernel).toBeTruthy();
    const cmdline = await m.succeed('cat /proc/cmdline');
    expect(cmdline).toContain(`root=LABEL=${fx.volumeId}`);
    expect(cmdline).toMatch(/init=\/nix\/store\/[0-9a-z]{32}-nixos-system-nixos-25\.11[^ ]*\/init/);
    expect(cmdline).toContain('console=ttyS0,115200n8');
    expect(cmdline).not.toContain('isoboot');
    expect(readFileSync(savedInstaller().bootSerialLog!, 'utf8')).toContain('<<< Welcome to NixOS 25.11 (x86_64) - ttyS0 >>>');
    expect(readFileSync(savedInstaller().bootSerialLog!, 'utf8')).toMatch(/nixos login: nixos \(automatic login\)/);
    expect((await m.succeed('hostid')).trim()).toBe('8425e349');
    expect((await m.succeed('su nixos -c "sudo -n id -u"')).trim()).toBe('0');
    expect(await m.succeed('readlink /run/current-system')).toMatch(/-nixos-system-nixos-25\.11/);
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
    expect(props).toMatch(/xattr\tsa/);
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

describe('the installed system (the zfs-mirror install rehearsal.test.ts kept)', () => {
  const keyDir = mkdtempSync(path.join(os.tmpdir(), 'rehearse-key-'));
  const key = path.join(keyDir, 'id_ed25519');
  let m: Machine;
  let workDir: string;
  let base: ReturnType<typeof readSavedInstall>;

  beforeAll(async () => {
    base = readSavedInstall(await installedBase('zfs-mirror'));
    copyFileSync(base.sshPrivateKeyFile, key);
    chmodSync(key, 0o600);
    workDir = mkdtempSync(path.join(os.tmpdir(), 'rehearse-installed-'));
    copyFileSync(base.efiVars, path.join(workDir, 'efivars.fd'));
    m = await Machine.create({
      name: 'fixture-installed',
      accel: savedInstaller().accel,
      timeoutScale: timeoutScale(savedInstaller().accel),
      memoryMiB: 1024,
      // Overlays over the kept disks: the base is never written.
      disks: base.disks.map((d) => ({ id: d.id, serial: d.serial, backing: d.file })),
      workDir,
      keep: true,
      sshHostPort: 'auto',
      logDir: testLogDir('fixture-installed'),
    });
    await m.start();
    await m.waitForSerial(/Boot in \d+ s/, 60); // the systemd-boot menu, drawn on serial
    const seen = await m.waitForSerial(/login: root \(automatic login\)|<<< stage 1 failed: .*>>>|Kernel panic/, 60);
    expect(seen[0]).toContain('automatic login');
    await m.connect();
  });
  afterAll(async () => {
    await m?.stop();
    rmSync(workDir, { recursive: true, force: true });
    rmSync(keyDir, { recursive: true, force: true });
  });

  it('nixos-install wrote the hardware configuration, generation 1 alone, its boot entry and both loaders', async () => {
    const hw = await m.succeed('cat /etc/nixos/hardware-configuration.nix');
    expect(hw).toContain('fileSystems."/" =\n    { device = "rpool/local/root";\n      fsType = "zfs";\n    };');
    expect(hw).toContain('fileSystems."/nix" =\n    { device = "rpool/local/nix";');
    expect(hw).toContain('fileSystems."/persist" =\n    { device = "rpool/safe/persist";');
    const espUuid = (await m.succeed('findmnt -no UUID /boot')).trim();
    expect(hw).toContain(`fileSystems."/boot" =\n    { device = "/dev/disk/by-uuid/${espUuid}";\n      fsType = "vfat";\n      options = [ "fmask=0022" "dmask=0022" ];`);
    const top = base.toplevel;
    expect(top).toMatch(/^\/nix\/store\/[0-9a-z]{32}-nixos-system-server-25\.11\.\d{8}\.[0-9a-f]{7}$/);
    expect((await m.succeed('readlink /nix/var/nix/profiles/system-1-link')).trim()).toBe(top);
    // Generation 1 alone: the full rehearsal's rebuild and rollbacks went to overlays.
    const gens = await m.succeed('nix-env -p /nix/var/nix/profiles/system --list-generations');
    expect(gens.trim().split('\n')).toHaveLength(1);
    expect(gens).toMatch(/^ {3}1 {3}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {3}\(current\)$/m);
    const entry = await m.succeed('cat /boot/loader/entries/nixos-generation-1.conf');
    expect(entry).toContain(`options init=${top}/init root=ZFS=rpool/local/root`);
    expect(entry).toMatch(/^version Generation 1 NixOS Xantusia 25\.11\.\d{8}\.\w+ \(Linux 6\.1\.0-\d+\), built on \d{4}-\d{2}-\d{2}$/m);
    expect(await m.succeed('ls /boot/loader/entries')).not.toMatch(/generation-2/);
    expect(await m.succeed('cat /boot/loader/loader.conf')).toContain('default nixos-generation-1.conf');
    const loaders = await m.succeed('ls /boot/EFI/systemd /boot/EFI/BOOT');
    expect(loaders).toContain('systemd-bootx64.efi');
    expect(loaders).toContain('BOOTX64.EFI');
    const json = JSON.parse(await m.succeed('nixos-rebuild list-generations --json'));
    expect(json.map((g: { generation: number; current: boolean }) => [g.generation, g.current])).toEqual([[1, true]]);
  });

  it('boots it from NVMe through systemd-boot: systemd, the datasets, sshd, key login, password and root refused', async () => {
    const top = (await m.succeed('readlink /run/current-system')).trim();
    expect(top).toBe(base.toplevel);
    expect((await m.succeed('readlink /run/booted-system')).trim()).toBe(top);
    expect((await m.succeed('findmnt -no SOURCE /')).trim()).toBe('rpool/local/root');
    expect((await m.succeed('findmnt -no SOURCE /nix')).trim()).toBe('rpool/local/nix');
    expect((await m.succeed('findmnt -no SOURCE /persist')).trim()).toBe('rpool/safe/persist');
    expect((await m.succeed('findmnt -no FSTYPE /boot')).trim()).toBe('vfat');
    expect((await m.succeed('zpool status -x')).trim()).toBe('all pools are healthy');
    expect((await m.succeed('cat /etc/rehearse/release')).trim()).toBe('generation-one');
    expect((await m.succeed('ps -p 1 -o comm=')).trim()).toBe('systemd');
    await m.waitForUnit('sshd.service', 120);
    expect(await m.succeed('systemd-analyze time')).toMatch(/Startup finished in/);
    const ssh = ['-i', key, '-p', String(m.sshPort), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=60'];
    const host = (await m.succeed('hostname')).trim();
    const login = await execa('ssh', [...ssh, 'rehearse@127.0.0.1', 'echo "$(id -un)@$(hostname)"'], { reject: false, timeout: m.t(36) });
    expect(login.stdout.trim()).toBe(`rehearse@${host}`);
    const pw = await execa('ssh', [...ssh, '-o', 'PubkeyAuthentication=no', '-o', 'PreferredAuthentications=password,keyboard-interactive', 'rehearse@127.0.0.1', 'true'], { reject: false, timeout: m.t(36) });
    expect(pw.exitCode).toBe(255);
    expect(pw.stderr).toMatch(/Permission denied \(publickey\)/);
    const root = await execa('ssh', [...ssh, 'root@127.0.0.1', 'true'], { reject: false, timeout: m.t(36) });
    expect(root.exitCode).toBe(255);
    // nix path-info -Sh: the path, a TAB, renderSize's "%6.1f MiB|GiB".
    expect((await m.succeed('nix path-info -Sh /run/current-system')).trimEnd()).toMatch(new RegExp(`^${top}\\t {0,3}\\d+\\.\\d (MiB|GiB)$`));
  });
});
