// The installed zfs-mirror system's details, asserted in the running VM of the full rehearsal
// (runRehearsal's `events.verified`, rehearsal.test.ts): what nixos-install wrote (hardware
// configuration, boot entry, loaders, generation 1), the datasets mounted where the runbook
// puts them, systemd as PID 1, password and root logins refused, `nix path-info`'s format.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { expect } from 'vitest';
import type { Machine } from '../../src/qemu/machine.js';
import { CLOSURE_SIZE_COMMAND } from '../../src/verify/parsers.js';

export async function expectInstalledZfsMirror(m: Machine): Promise<void> {
  // The systemd-boot menu, drawn on the serial console before the kernel started.
  expect(m.serialTail(100_000)).toMatch(/Boot in \d+ s/);
  const hw = await m.succeed('cat /etc/nixos/hardware-configuration.nix');
  expect(hw).toContain('fileSystems."/" =\n    { device = "rpool/local/root";\n      fsType = "zfs";\n    };');
  expect(hw).toContain('fileSystems."/nix" =\n    { device = "rpool/local/nix";');
  expect(hw).toContain('fileSystems."/persist" =\n    { device = "rpool/safe/persist";');
  const espUuid = (await m.succeed('findmnt -no UUID /boot')).trim();
  expect(hw).toContain(`fileSystems."/boot" =\n    { device = "/dev/disk/by-uuid/${espUuid}";\n      fsType = "vfat";\n      options = [ "fmask=0022" "dmask=0022" ];`);
  const top = (await m.succeed('readlink /run/current-system')).trim();
  expect(top).toMatch(/^\/nix\/store\/[0-9a-z]{32}-nixos-system-server-25\.11\.\d{8}\.[0-9a-f]{7}$/);
  expect((await m.succeed('readlink /nix/var/nix/profiles/system-1-link')).trim()).toBe(top);
  expect(await m.succeed('nix-env -p /nix/var/nix/profiles/system --list-generations')).toMatch(/^ {3}1 {3}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {3}\(current\)$/m);
  const entry = await m.succeed('cat /boot/loader/entries/nixos-generation-1.conf');
  expect(entry).toContain(`options init=${top}/init root=ZFS=rpool/local/root`);
  expect(entry).toMatch(/^version Generation 1 NixOS Xantusia 25\.11\.\d{8}\.\w+ \(Linux 6\.12\.\d+\), built on \d{4}-\d{2}-\d{2}$/m);
  expect(await m.succeed('cat /boot/loader/loader.conf')).toContain('default nixos-generation-1.conf');
  const loaders = await m.succeed('ls /boot/EFI/systemd /boot/EFI/BOOT');
  expect(loaders).toContain('systemd-bootx64.efi');
  expect(loaders).toContain('BOOTX64.EFI');
  const json = JSON.parse(await m.succeed('nixos-rebuild list-generations --json'));
  expect(json.map((g: { generation: number; current: boolean }) => [g.generation, g.current])).toEqual([[1, true]]);
  expect((await m.succeed('findmnt -no SOURCE /')).trim()).toBe('rpool/local/root');
  expect((await m.succeed('findmnt -no SOURCE /nix')).trim()).toBe('rpool/local/nix');
  expect((await m.succeed('findmnt -no SOURCE /persist')).trim()).toBe('rpool/safe/persist');
  expect((await m.succeed('findmnt -no FSTYPE /boot')).trim()).toBe('vfat');
  expect((await m.succeed('cat /etc/rehearse/release')).trim()).toBe('generation-one');
  expect((await m.succeed('ps -p 1 -o comm=')).trim()).toBe('systemd');
  // A generation's own switch-to-configuration, as nixos-rebuild and the boot menu run it.
  await m.succeed('/nix/var/nix/profiles/system-1-link/bin/switch-to-configuration test', 600);
  expect((await m.succeed('cat /etc/rehearse/release')).trim()).toBe('generation-one');
  expect((await m.succeed('systemctl is-active sshd')).trim()).toBe('active');
  // nix path-info -Sh: the path, a TAB, renderSize's "%6.1f MiB|GiB". The configuration enables
  // no experimental feature, so plain `nix path-info` is refused in Nix's words; the harness's
  // command enables nix-command itself.
  const plain = await m.run('nix path-info -Sh /run/current-system', 60);
  expect(plain.exitCode).toBe(1);
  expect(plain.output).toContain("error: experimental Nix feature 'nix-command' is disabled; add '--extra-experimental-features nix-command' to enable it");
  expect((await m.succeed(CLOSURE_SIZE_COMMAND)).trimEnd()).toMatch(new RegExp(`^${top}\\t {0,3}\\d+\\.\\d (MiB|GiB)$`));
  // The real Nix owns the store: its version, the generation a valid (registered) path built by
  // Nix, whose closure holds the kernel, the initrd, busybox and the nixpkgs source; NixOS's
  // software generation underneath (Linux 6.12, OpenZFS 2.3, systemd 257, OpenSSH 10, sudo 1.9.16).
  expect((await m.succeed('nix --version')).trim()).toMatch(/^nix \(Nix\) 2\.26\.\d+$/);
  expect((await m.succeed(`nix-store --verify-path ${top} && echo valid`)).trim()).toBe('valid');
  const closure = (await m.succeed(`nix-store -qR ${top}`)).trim().split('\n');
  for (const part of [/-linux-6\.12\.\d+$/, /-initrd-linux-6\.12\.\d+$/, /-source$/]) expect(closure.some((p) => part.test(p)), String(part)).toBe(true);
  // Built, not copied: its derivation is in the store, and its builder is the static busybox.
  const drv = (await m.succeed(`nix-store -q --deriver ${top}`)).trim();
  expect(drv).toMatch(/-nixos-system-server-25\.11\.\d{8}\.[0-9a-f]{7}\.drv$/);
  expect((await m.succeed(`nix-store -q --binding builder ${drv}`)).trim()).toMatch(/^\/nix\/store\/[0-9a-z]{32}-busybox-static-[\d.]+\/bin\/busybox$/);
  expect((await m.succeed('uname -r')).trim()).toMatch(/^6\.12\./);
  expect((await m.succeed('cat /sys/module/zfs/version')).trim()).toMatch(/^2\.3\./);
  expect(await m.succeed('systemctl --version')).toMatch(/^systemd 257 /);
  expect(await m.succeed('ssh -V 2>&1')).toMatch(/^OpenSSH_10\./);
  expect(await m.succeed('sudo -V | head -n 1')).toMatch(/^Sudo version 1\.9\.16/);
  expect((await m.succeed('readlink -f /bin/sh')).trim()).toMatch(/\/bash$/);
  // The real server's static address names a NIC the VM does not have; QEMU's NIC is rehearse0
  // (the harness's .link, by MAC) with the harness's address, and nothing else has an address.
  const links = (await m.succeed('ip -br link')).split('\n').map((l) => l.split(/\s+/)[0]).filter(Boolean);
  expect(links).toEqual(['lo', 'rehearse0']);
  expect(await m.succeed('ip -4 -o addr show')).toMatch(/^\d+: rehearse0\s+inet 10\.0\.2\.15\/24 /m);
  // /persist is neededForBoot: stage 1 mounted it (stage-1-init.sh's "mounting … on …...").
  expect(m.serialTail(100_000)).toMatch(/mounting rpool\/safe\/persist on \/persist\.\.\./);
  // A flake system's closure carries nixpkgs' source with its unencrypted test keys, and the
  // secrets check (green in this run) was not fooled by them.
  expect(await m.succeed('grep -l "BEGIN OPENSSH PRIVATE KEY" /nix/store/*-source/nixos/tests/ssh-keys.nix')).toMatch(/-source\/nixos\/tests\/ssh-keys\.nix/);
  // Root never logs in over SSH, whatever the key; a password is never asked for.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rehearse-key-'));
  try {
    const key = path.join(dir, 'id_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    const ssh = ['-i', key, '-p', String(m.sshPort), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=60'];
    const root = await execa('ssh', [...ssh, 'root@127.0.0.1', 'true'], { reject: false, timeout: m.t(36) });
    expect(root.exitCode).toBe(255);
    // PermitRootLogin's default, "prohibit-password" (sshd.nix); keyboard-interactive is offered, as NixOS does.
    expect(root.stderr).toMatch(/Permission denied \(publickey(,keyboard-interactive)?\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
