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
import { batchSucceed } from './guest-batch.js';

export async function expectInstalledZfsMirror(m: Machine): Promise<void> {
  // The systemd-boot menu, drawn on the serial console before the kernel started.
  expect(m.serialTail(100_000)).toMatch(/Boot in \d+ s/);
  // Every fact read in one round trip (guest-batch.ts). (switch-to-configuration runs in the
  // rebuild and the rollback, which check what it did.)
  const g = await batchSucceed(m, {
    hw: 'cat /etc/nixos/hardware-configuration.nix',
    espUuid: 'findmnt -no UUID /boot',
    top: 'echo "$top"',
    link1: 'readlink /nix/var/nix/profiles/system-1-link',
    generations: 'nix-env -p /nix/var/nix/profiles/system --list-generations',
    entry: 'cat /boot/loader/entries/nixos-generation-1.conf',
    loaderConf: 'cat /boot/loader/loader.conf',
    loaders: 'ls /boot/EFI/systemd /boot/EFI/BOOT',
    generationsJson: 'nixos-rebuild list-generations --json',
    rootSrc: 'findmnt -no SOURCE /',
    nixSrc: 'findmnt -no SOURCE /nix',
    persistSrc: 'findmnt -no SOURCE /persist',
    bootType: 'findmnt -no FSTYPE /boot',
    release: 'cat /etc/rehearse/release',
    pid1: 'ps -p 1 -o comm=',
    plainPathInfo: 'nix path-info -Sh /run/current-system; echo "exit $?"',
    closureSize: CLOSURE_SIZE_COMMAND,
    nixVersion: 'nix --version',
    verifyPath: 'nix-store --verify-path "$top" && echo valid',
    closure: 'nix-store -qR "$top"',
    deriver: 'nix-store -q --deriver "$top"',
    builder: 'nix-store -q --binding builder "$(nix-store -q --deriver "$top")"',
    uname: 'uname -r',
    zfsVersion: 'cat /sys/module/zfs/version',
    systemd: 'systemctl --version',
    ssh: 'ssh -V 2>&1',
    sudo: 'sudo -V | head -n 1',
    binSh: 'readlink -f /bin/sh',
    links: 'ip -br link',
    addrs: 'ip -4 -o addr show',
    snakeoil: 'grep -l "BEGIN OPENSSH PRIVATE KEY" /nix/store/*-source/nixos/tests/ssh-keys.nix',
  }, { preamble: 'top=$(readlink /run/current-system)', seconds: 900 });
  const hw = g.hw!;
  expect(hw).toContain('fileSystems."/" =\n    { device = "rpool/local/root";\n      fsType = "zfs";\n    };');
  expect(hw).toContain('fileSystems."/nix" =\n    { device = "rpool/local/nix";');
  expect(hw).toContain('fileSystems."/persist" =\n    { device = "rpool/safe/persist";');
  const espUuid = g.espUuid!.trim();
  expect(hw).toContain(`fileSystems."/boot" =\n    { device = "/dev/disk/by-uuid/${espUuid}";\n      fsType = "vfat";\n      options = [ "fmask=0022" "dmask=0022" ];`);
  const top = g.top!.trim();
  expect(top).toMatch(/^\/nix\/store\/[0-9a-z]{32}-nixos-system-server-25\.11\.\d{8}\.[0-9a-f]{7}$/);
  expect(g.link1!.trim()).toBe(top);
  expect(g.generations).toMatch(/^ {3}1 {3}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {3}\(current\)$/m);
  expect(g.entry).toContain(`options init=${top}/init root=ZFS=rpool/local/root`);
  expect(g.entry).toMatch(/^version Generation 1 NixOS Xantusia 25\.11\.\d{8}\.\w+ \(Linux 6\.12\.\d+\), built on \d{4}-\d{2}-\d{2}$/m);
  expect(g.loaderConf).toContain('default nixos-generation-1.conf');
  expect(g.loaders).toContain('systemd-bootx64.efi');
  expect(g.loaders).toContain('BOOTX64.EFI');
  const json = JSON.parse(g.generationsJson!);
  expect(json.map((x: { generation: number; current: boolean }) => [x.generation, x.current])).toEqual([[1, true]]);
  expect(g.rootSrc!.trim()).toBe('rpool/local/root');
  expect(g.nixSrc!.trim()).toBe('rpool/local/nix');
  expect(g.persistSrc!.trim()).toBe('rpool/safe/persist');
  expect(g.bootType!.trim()).toBe('vfat');
  expect(g.release!.trim()).toBe('generation-one');
  expect(g.pid1!.trim()).toBe('systemd');
  // nix path-info -Sh: the path, a TAB, renderSize's "%6.1f MiB|GiB". The configuration enables
  // no experimental feature, so plain `nix path-info` is refused in Nix's words; the harness's
  // command enables nix-command itself.
  expect(g.plainPathInfo).toMatch(/exit 1\n?$/);
  expect(g.plainPathInfo).toContain("error: experimental Nix feature 'nix-command' is disabled; add '--extra-experimental-features nix-command' to enable it");
  expect(g.closureSize!.trimEnd()).toMatch(new RegExp(`^${top}\\t {0,3}\\d+\\.\\d (MiB|GiB)$`));
  // The real Nix owns the store: its version, the generation a valid (registered) path built by
  // Nix, whose closure holds the kernel, the initrd, busybox and the nixpkgs source; NixOS's
  // software generation underneath (Linux 6.12, OpenZFS 2.3, systemd 257, OpenSSH 10, sudo 1.9.16).
  expect(g.nixVersion!.trim()).toMatch(/^nix \(Nix\) 2\.26\.\d+$/);
  expect(g.verifyPath!.trim()).toBe('valid');
  const closure = g.closure!.trim().split('\n');
  for (const part of [/-linux-6\.12\.\d+$/, /-initrd-linux-6\.12\.\d+$/, /-source$/]) expect(closure.some((p) => part.test(p)), String(part)).toBe(true);
  // Built, not copied: its derivation is in the store, and its builder is the static busybox.
  expect(g.deriver!.trim()).toMatch(/-nixos-system-server-25\.11\.\d{8}\.[0-9a-f]{7}\.drv$/);
  expect(g.builder!.trim()).toMatch(/^\/nix\/store\/[0-9a-z]{32}-busybox-static-[\d.]+\/bin\/busybox$/);
  expect(g.uname!.trim()).toMatch(/^6\.12\./);
  expect(g.zfsVersion!.trim()).toMatch(/^2\.3\./);
  expect(g.systemd).toMatch(/^systemd 257 /);
  expect(g.ssh).toMatch(/^OpenSSH_10\./);
  expect(g.sudo).toMatch(/^Sudo version 1\.9\.16/);
  expect(g.binSh!.trim()).toMatch(/\/bash$/);
  // The real server's static address names a NIC the VM does not have; QEMU's NIC is rehearse0
  // (the harness's .link, by MAC) with the harness's address, and nothing else has an address.
  const links = g.links!.split('\n').map((l) => l.split(/\s+/)[0]).filter(Boolean);
  expect(links).toEqual(['lo', 'rehearse0']);
  expect(g.addrs).toMatch(/^\d+: rehearse0\s+inet 10\.0\.2\.15\/24 /m);
  // /persist is neededForBoot: stage 1 mounted it (stage-1-init.sh's "mounting … on …...").
  expect(m.serialTail(100_000)).toMatch(/mounting rpool\/safe\/persist on \/persist\.\.\./);
  // A flake system's closure carries nixpkgs' source with its unencrypted test keys, and the
  // secrets check (green in this run) was not fooled by them.
  expect(g.snakeoil).toMatch(/-source\/nixos\/tests\/ssh-keys\.nix/);
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
