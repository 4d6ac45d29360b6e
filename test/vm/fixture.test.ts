// The fixture installer ISO, booted through the engine's generic ISO path (its own grub.cfg's
// installer entry, direct kernel boot through OVMF, the ISO attached): the runbook's Tasks 1–8
// verbatim on one disk and on a two-disk mirror, then an install (Tasks 9–13) and a boot of
// the installed system from its NVMe disk through the firmware and systemd-boot, with systemd,
// sshd, a real SSH login with a per-run key and a refused password login.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { execa } from 'execa';
import { startInstaller, type Installer } from '../../src/installer.js';
import { chooseAccel, timeoutScale } from '../../src/qemu/accel.js';
import { Machine } from '../../src/qemu/machine.js';
import { qemuBinary } from '../../src/qemu/tools.js';
import { testLogDir } from '../helpers/paths.js';

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
  let workDir: string;
  let accel: 'kvm' | 'tcg';
  const keyDir = mkdtempSync(path.join(os.tmpdir(), 'rehearse-key-'));
  const key = path.join(keyDir, 'id_ed25519');

  beforeAll(async () => {
    accel = (await chooseAccel(qemuBinary(), 'auto')).accel;
    workDir = mkdtempSync(path.join(os.tmpdir(), 'rehearse-fixture-test-'));
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'rehearse-test', '-f', key]);
    inst = await startInstaller({
      name: 'fixture-installer',
      iso: fx.iso,
      accel,
      timeoutScale: timeoutScale(accel),
      disks: DISKS,
      workDir,
      keep: true,
      logDir: testLogDir('fixture-installer'),
    });
  });
  afterAll(async () => {
    await inst?.machine.stop();
    rmSync(workDir, { recursive: true, force: true });
    rmSync(keyDir, { recursive: true, force: true });
  });

  it('boots through its own grub.cfg installer entry into the nixos autologin with sudo', async () => {
    const m = inst.machine;
    expect(inst.boot.entry.title).toBe('NixOS 25.11 Installer (Linux LTS)');
    expect(inst.boot.kernel).toBeTruthy();
    const cmdline = await m.succeed('cat /proc/cmdline');
    expect(cmdline).toContain(`root=LABEL=${fx.volumeId}`);
    expect(cmdline).toMatch(/init=\/nix\/store\/[0-9a-z]{32}-nixos-system-nixos-25\.11[^ ]*\/init/);
    expect(cmdline).toContain('console=ttyS0,115200n8');
    expect(cmdline).not.toContain('isoboot');
    expect(m.serial.tail(300)).toContain('<<< Welcome to NixOS 25.11 (x86_64) - ttyS0 >>>');
    expect(m.serial.tail(300)).toMatch(/nixos login: nixos \(automatic login\)/);
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

  it('runs Tasks 3–8 on a two-disk mirror, then installs (Tasks 9–13) and exports the pool', async () => {
    const m = inst.machine;
    for (const d of ['/dev/nvme0n1', '/dev/nvme1n1']) {
      for (const c of partition(d)) await m.succeed(c);
      await m.succeed(`sudo mkfs.fat -F 32 -n EFI ${d}p1`);
    }
    await m.succeed(zpoolCreate('mirror /dev/nvme0n1p2 /dev/nvme1n1p2'));
    const status = await m.succeed('sudo zpool status rpool');
    expect(status).toMatch(/^\s+mirror-0\s+ONLINE\s+0\s+0\s+0$/m);
    expect(status).toMatch(/^\s+nvme1n1p2\s+ONLINE\s+0\s+0\s+0$/m);
    expect(status).toContain('errors: No known data errors');
    for (const c of [...DATASETS, ...MOUNTS]) await m.succeed(c);

    // Task 9–10: the generated hardware configuration reflects the mounts.
    const gen = await m.run('sudo nixos-generate-config --root /mnt');
    expect(gen.exitCode, gen.output).toBe(0);
    expect(gen.output).toContain('writing /mnt/etc/nixos/hardware-configuration.nix...');
    const hw = await m.succeed("sudo sed -n '1,200p' /mnt/etc/nixos/hardware-configuration.nix");
    expect(hw).toContain('fileSystems."/" =\n    { device = "rpool/local/root";\n      fsType = "zfs";\n    };');
    expect(hw).toContain('fileSystems."/nix" =\n    { device = "rpool/local/nix";');
    expect(hw).toContain('fileSystems."/persist" =\n    { device = "rpool/safe/persist";');
    const espUuid = (await m.succeed('blkid -s UUID -o value /dev/nvme0n1p1')).trim();
    expect(hw).toContain(`fileSystems."/boot" =\n    { device = "/dev/disk/by-uuid/${espUuid}";\n      fsType = "vfat";\n      options = [ "fmask=0022" "dmask=0022" ];`);

    // The flake: the fixture's, with this machine's hardware configuration and a harness module.
    const flake = mkdtempSync(path.join(os.tmpdir(), 'rehearse-flake-'));
    execFileSync('cp', ['-a', `${fx.flake}/.`, flake]);
    const pub = readFileSync(`${key}.pub`, 'utf8').trim();
    const flakeNix = path.join(flake, 'flake.nix');
    writeFileSync(flakeNix, readFileSync(flakeNix, 'utf8').replace('./hardware-configuration.nix', './hardware-configuration.nix ./harness.nix'));
    writeFileSync(path.join(flake, 'harness.nix'), `{ ... }:\n{\n  boot.kernelParams = [ "console=ttyS0,115200n8" ];\n  services.getty.autologinUser = "root";\n  users.users.admin.openssh.authorizedKeys.keys = [ "${pub}" ];\n}\n`);
    await m.copyIn(flake, '/tmp/flake');
    rmSync(flake, { recursive: true, force: true });
    await m.succeed('cp /mnt/etc/nixos/hardware-configuration.nix /tmp/flake/hardware-configuration.nix');

    // Task 12 (Task 11: nixos-install has no --dry-run; see nixos-install.sh).
    const install = await m.run('sudo nixos-install --root /mnt --no-root-passwd --flake /tmp/flake#server', 1200);
    expect(install.exitCode, install.output).toBe(0);
    expect(install.output).toContain('building the flake in path:/tmp/flake...');
    expect(install.output).toContain('installing the boot loader...');
    expect(install.output).toContain('installation finished!');
    // Task 13: boot entries on the ESP before reboot.
    const entries = await m.succeed('sudo ls -la /mnt/boot/loader/entries | head');
    expect(entries).toMatch(/nixos-generation-1\.conf/);
    const entry = await m.succeed('cat /mnt/boot/loader/entries/nixos-generation-1.conf');
    const top = (await m.succeed('readlink /mnt/nix/var/nix/profiles/system-1-link')).trim();
    expect(top).toMatch(/^\/nix\/store\/[0-9a-z]{32}-nixos-system-server-25\.11\.\d{8}\.[0-9a-f]{7}$/);
    expect(entry).toContain(`options init=${top}/init root=ZFS=rpool/local/root`);
    expect(entry).toMatch(/^version Generation 1 NixOS Xantusia 25\.11\.\d{8}\.\w+ \(Linux 6\.1\.0-\d+\), built on \d{4}-\d{2}-\d{2}$/m);
    expect(await m.succeed('cat /mnt/boot/loader/loader.conf')).toContain('default nixos-generation-1.conf');
    const loaders = await m.succeed('ls /mnt/boot/EFI/systemd /mnt/boot/EFI/BOOT');
    expect(loaders).toContain('systemd-bootx64.efi');
    expect(loaders).toContain('BOOTX64.EFI');
    expect(await m.succeed('nix-env -p /mnt/nix/var/nix/profiles/system --list-generations')).toMatch(/^ {3}1 {3}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {3}\(current\)$/m);
    await m.succeed('sudo umount -R /mnt && sudo zpool export rpool');
    await m.shutdown(120);
  });

  it('boots the installed system from NVMe through systemd-boot: systemd, sshd, key login, password refused', async () => {
    await inst.machine.stop(); // powered off by the test before; after a failure there, still running
    const m = await Machine.create({
      name: 'fixture-installed',
      accel,
      timeoutScale: timeoutScale(accel),
      memoryMiB: 1024,
      disks: DISKS.map((d, i) => ({ ...d, bootIndex: i })),
      workDir,
      keep: true,
      sshHostPort: 'auto',
      logDir: testLogDir('fixture-installed'),
    });
    try {
      await m.start();
      await m.waitForSerial(/Boot in \d+ s/, 60); // the systemd-boot menu, drawn on serial
      const seen = await m.waitForSerial(/server login: root \(automatic login\)|<<< stage 1 failed: .*>>>|Kernel panic/, 60);
      expect(seen[0]).toContain('automatic login');
      await m.connect();
      const top = (await m.succeed('readlink /run/current-system')).trim();
      expect(top).toMatch(/-nixos-system-server-25\.11/);
      expect((await m.succeed('readlink /run/booted-system')).trim()).toBe(top);
      expect((await m.succeed('findmnt -no SOURCE /')).trim()).toBe('rpool/local/root');
      expect((await m.succeed('findmnt -no SOURCE /nix')).trim()).toBe('rpool/local/nix');
      expect((await m.succeed('findmnt -no SOURCE /persist')).trim()).toBe('rpool/safe/persist');
      expect((await m.succeed('findmnt -no FSTYPE /boot')).trim()).toBe('vfat');
      expect((await m.succeed('zpool status -x')).trim()).toBe('all pools are healthy');
      expect((await m.succeed('cat /etc/rehearse/release')).trim()).toBe('generation-one');
      expect((await m.succeed('ps -p 1 -o comm=')).trim()).toBe('systemd');
      await m.waitForUnit('sshd.service', 120);
      expect((await m.succeed('systemctl is-active sshd')).trim()).toBe('active');
      expect(await m.succeed('systemd-analyze time')).toMatch(/Startup finished in/);
      const ssh = ['-i', key, '-p', String(m.sshPort), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=60'];
      const login = await execa('ssh', [...ssh, 'admin@127.0.0.1', 'echo "$(id -un)@$(hostname)"'], { reject: false, timeout: 120_000 });
      expect(login.stdout.trim()).toBe('admin@server');
      const pw = await execa('ssh', [...ssh, '-o', 'PubkeyAuthentication=no', '-o', 'PreferredAuthentications=password,keyboard-interactive', 'admin@127.0.0.1', 'true'], { reject: false, timeout: 120_000 });
      expect(pw.exitCode).toBe(255);
      expect(pw.stderr).toMatch(/Permission denied \(publickey\)/);
      const root = await execa('ssh', [...ssh, 'root@127.0.0.1', 'true'], { reject: false, timeout: 120_000 });
      expect(root.exitCode).toBe(255);

      // nix path-info -Sh: the path, a TAB, renderSize's "%6.1f MiB|GiB".
      expect((await m.succeed('nix path-info -Sh /run/current-system')).trimEnd()).toMatch(new RegExp(`^${top}\\t {0,3}\\d+\\.\\d (MiB|GiB)$`));

      // A rebuild the safe way: build (the running system is untouched), switch, rollback.
      const flake2 = mkdtempSync(path.join(os.tmpdir(), 'rehearse-flake2-'));
      execFileSync('cp', ['-a', `${fx.flake}/.`, flake2]);
      const conf = path.join(flake2, 'configuration.nix');
      writeFileSync(conf, readFileSync(conf, 'utf8').replace('"generation-one"', '"generation-two"'));
      await m.copyIn(flake2, '/root/flake');
      rmSync(flake2, { recursive: true, force: true });
      await m.succeed('cp /nix/store/*-source/harness.nix /nix/store/*-source/hardware-configuration.nix /nix/store/*-source/flake.nix /root/flake/');
      const build = await m.run('cd /root && nixos-rebuild build --flake /root/flake#server', 600);
      expect(build.exitCode, build.output).toBe(0);
      expect(build.output).toContain('building the system configuration...');
      const built = (await m.succeed('readlink /root/result')).trim();
      expect(built).not.toBe(top);
      expect((await m.succeed('cat /etc/rehearse/release')).trim()).toBe('generation-one');
      expect((await m.succeed('readlink /run/current-system')).trim()).toBe(top);
      const sw = await m.run('nixos-rebuild switch --flake /root/flake#server', 600);
      expect(sw.exitCode, sw.output).toBe(0);
      expect(sw.output).toContain(`Done. The new configuration is ${built}`);
      expect((await m.succeed('cat /etc/rehearse/release')).trim()).toBe('generation-two');
      expect((await m.succeed('readlink /run/current-system')).trim()).toBe(built);
      expect((await m.succeed('readlink /run/booted-system')).trim()).toBe(top);
      const gens = await m.succeed('nix-env -p /nix/var/nix/profiles/system --list-generations');
      expect(gens).toMatch(/^ {3}1 {3}\S+ \S+ {3}$/m);
      expect(gens).toMatch(/^ {3}2 {3}\S+ \S+ {3}\(current\)$/m);
      expect(await m.succeed('cat /boot/loader/loader.conf')).toContain('default nixos-generation-2.conf');
      expect(await m.succeed('ls /boot/loader/entries')).toMatch(/nixos-generation-1\.conf\s+nixos-generation-2\.conf/);
      const json = JSON.parse(await m.succeed('nixos-rebuild list-generations --json'));
      expect(json.map((g: { generation: number; current: boolean }) => [g.generation, g.current])).toEqual([[2, true], [1, false]]);
      expect((await m.succeed('systemctl is-active sshd')).trim()).toBe('active');
      const rb = await m.run('nixos-rebuild switch --rollback', 600);
      expect(rb.exitCode, rb.output).toBe(0);
      expect(rb.output).toContain('switching profile from version 2 to 1');
      expect((await m.succeed('cat /etc/rehearse/release')).trim()).toBe('generation-one');
      expect((await m.succeed('readlink /run/current-system')).trim()).toBe(top);
      expect(await m.succeed('cat /boot/loader/loader.conf')).toContain('default nixos-generation-1.conf');
      await m.succeed('/nix/var/nix/profiles/system-2-link/bin/switch-to-configuration test');
      expect((await m.succeed('cat /etc/rehearse/release')).trim()).toBe('generation-two');
      await m.succeed('/nix/var/nix/profiles/system-1-link/bin/switch-to-configuration switch');
      expect((await m.succeed('cat /etc/rehearse/release')).trim()).toBe('generation-one');
    } finally {
      await m.stop();
    }
  });
});

// ext4 and btrfs roots (the runbook's other two file systems): one installer session installs an
// ext4 system on disk0 and a btrfs one (subvolumes root, nix, persist) on disk1; each then boots
// alone from its disk.
describe('fixture installer: ext4 and btrfs roots', () => {
  let accel: 'kvm' | 'tcg';
  let workDir: string;

  beforeAll(async () => {
    accel = (await chooseAccel(qemuBinary(), 'auto')).accel;
    workDir = mkdtempSync(path.join(os.tmpdir(), 'rehearse-fixture-fs-'));
  });
  afterAll(() => rmSync(workDir, { recursive: true, force: true }));

  it('installs an ext4 root on one disk and a btrfs root on the other', async () => {
    const { machine: m } = await startInstaller({
      name: 'fixture-fs-installer', iso: fx.iso, accel, timeoutScale: timeoutScale(accel),
      disks: DISKS, workDir, keep: true, logDir: testLogDir('fixture-fs-installer'),
    });
    try {
      const harness = '{ ... }:\n{\n  boot.kernelParams = [ "console=ttyS0,115200n8" ];\n  services.getty.autologinUser = "root";\n}\n';
      const flake = mkdtempSync(path.join(os.tmpdir(), 'rehearse-flake-'));
      execFileSync('cp', ['-a', `${fx.flake}/.`, flake]);
      const flakeNix = path.join(flake, 'flake.nix');
      writeFileSync(flakeNix, readFileSync(flakeNix, 'utf8').replace('./hardware-configuration.nix', './hardware-configuration.nix ./harness.nix'));
      writeFileSync(path.join(flake, 'harness.nix'), harness);
      await m.copyIn(flake, '/tmp/flake-ext4');
      await m.copyIn(flake, '/tmp/flake-btrfs');
      rmSync(flake, { recursive: true, force: true });
      for (const d of ['/dev/nvme0n1', '/dev/nvme1n1']) {
        await m.succeed(`sgdisk --zap-all ${d} && sgdisk -n1:1M:+1G -t1:EF00 -c1:"EFI System" ${d} && sgdisk -n2:0:0 -t2:8300 -c2:"root" ${d} && mkfs.fat -F 32 -n EFI ${d}p1`);
      }
      await m.succeed('mkfs.ext4 -q -L nixos /dev/nvme0n1p2 && mount /dev/nvme0n1p2 /mnt && mkdir -p /mnt/boot');
      // The runbook's common mistake #1: /mnt/boot not mounted. Like the real installer, the
      // boot loader step refuses (bootctl: not an ESP) and no entry is written anywhere.
      await m.succeed('nixos-generate-config --root /mnt && cp /mnt/etc/nixos/hardware-configuration.nix /tmp/flake-ext4/');
      const noEsp = await m.run('nixos-install --root /mnt --no-root-passwd --flake /tmp/flake-ext4#server', 1200);
      expect(noEsp.exitCode).not.toBe(0);
      expect(noEsp.output).toContain('installing the boot loader...');
      expect(noEsp.output).not.toContain('installation finished!');
      expect(noEsp.output).toMatch(/is not (a FAT EFI System Partition|on a GPT partition)|Failed to (check|probe|open)/i);
      expect((await m.run('ls /mnt/boot/loader /mnt/boot/EFI')).exitCode).not.toBe(0);
      await m.succeed('rm -rf /mnt/boot/* && mount /dev/nvme0n1p1 /mnt/boot && rm -rf /mnt/etc/nixos');
      await m.succeed('mkfs.btrfs -q -f -L nixos /dev/nvme1n1p2 && mkdir -p /mnt2 && mount /dev/nvme1n1p2 /mnt2 && btrfs -q subvolume create /mnt2/root && btrfs -q subvolume create /mnt2/nix && btrfs -q subvolume create /mnt2/persist && umount /mnt2');
      await m.succeed('mount -o subvol=root /dev/nvme1n1p2 /mnt2 && mkdir -p /mnt2/nix /mnt2/persist /mnt2/boot && mount -o subvol=nix /dev/nvme1n1p2 /mnt2/nix && mount -o subvol=persist /dev/nvme1n1p2 /mnt2/persist && mount /dev/nvme1n1p1 /mnt2/boot');
      for (const [root, flakeDir, fs] of [['/mnt', '/tmp/flake-ext4', 'ext4'], ['/mnt2', '/tmp/flake-btrfs', 'btrfs']] as const) {
        await m.succeed(`nixos-generate-config --root ${root}`);
        const hw = await m.succeed(`cat ${root}/etc/nixos/hardware-configuration.nix`);
        const uuid = (await m.succeed(`findmnt -no UUID ${root}`)).trim();
        expect(hw).toContain(`fileSystems."/" =\n    { device = "/dev/disk/by-uuid/${uuid}";\n      fsType = "${fs}";`);
        if (fs === 'btrfs') {
          expect(hw).toContain('options = [ "subvol=root" ];');
          expect(hw).toContain('options = [ "subvol=nix" ];');
        }
        await m.succeed(`cp ${root}/etc/nixos/hardware-configuration.nix ${flakeDir}/`);
        const r = await m.run(`nixos-install --root ${root} --no-root-passwd --flake ${flakeDir}#server`, 1200);
        expect(r.exitCode, r.output).toBe(0);
        expect(await m.succeed(`cat ${root}/boot/loader/entries/nixos-generation-1.conf`)).toMatch(new RegExp(`root=UUID=${uuid} rootfstype=${fs}`));
      }
      await m.succeed('umount -R /mnt /mnt2');
      await m.shutdown(120);
    } finally {
      await m.stop();
    }
  });

  it.each([['ext4', 0], ['btrfs', 1]] as const)('boots the %s root from its own disk', async (fs, i) => {
    const m = await Machine.create({
      name: `fixture-${fs}`, accel, timeoutScale: timeoutScale(accel), memoryMiB: 1024,
      disks: [{ ...DISKS[i]!, bootIndex: 0 }], workDir, keep: true, logDir: testLogDir(`fixture-${fs}`),
    });
    try {
      await m.start();
      const seen = await m.waitForSerial(/server login: root \(automatic login\)|<<< stage 1 failed: .*>>>|Kernel panic/, 60);
      expect(seen[0]).toContain('automatic login');
      await m.connect();
      expect((await m.succeed('findmnt -no FSTYPE /')).trim()).toBe(fs);
      expect((await m.succeed('findmnt -no FSTYPE /boot')).trim()).toBe('vfat');
      if (fs === 'btrfs') {
        expect(await m.succeed('findmnt -no OPTIONS /')).toMatch(/subvol=\/root/);
        expect(await m.succeed('findmnt -no OPTIONS /nix')).toMatch(/subvol=\/nix/);
      }
      expect(await m.succeed('readlink /run/current-system')).toMatch(/-nixos-system-server-25\.11/);
      await m.waitForUnit('multi-user.target', 120);
      expect((await m.succeed('systemctl is-active sshd')).trim()).toBe('active');
    } finally {
      await m.stop();
    }
  });
});
