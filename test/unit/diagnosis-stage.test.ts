// The boot stage read from real serial logs of the fixture installer and of installed systems
// (test/fixtures/diagnosis/*.serial.log, recorded by the VM tests; see the README there), cut at
// each marker the way a hung boot would leave them.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BOOT_GAVE_UP, bootStage, firmwareFailures, gaveUpStage, kernelPanic, normalizeSerial, stage1Failure } from '../../src/diagnosis/boot-stage.js';
import { Console } from '../../src/console/console.js';

const fx = (name: string) => readFileSync(new URL(`../fixtures/diagnosis/${name}`, import.meta.url), 'utf8');
const INSTALLED = fx('installed-zfs-boot.serial.log');
const INSTALLER = fx('installer-boot.serial.log');

/** The log up to and including the first line that contains `marker`: what a boot stuck right after it leaves. */
function cutAfter(log: string, marker: string | RegExp): string {
  const lines = log.split('\n');
  const i = lines.findIndex((l) => (typeof marker === 'string' ? l.includes(marker) : marker.test(l)));
  if (i < 0) throw new Error(`fixture has no ${marker}`);
  return lines.slice(0, i + 1).join('\n');
}

describe('bootStage on an installed system booting through OVMF and systemd-boot (ZFS root)', () => {
  const cases: Array<[string | RegExp, string, RegExp]> = [
    ['BdsDxe: loading Boot0001', 'firmware', /^BdsDxe: loading Boot0001 "Linux Boot Manager" from HD\(1,GPT,/],
    ['BdsDxe: starting Boot0001', 'firmware', /^BdsDxe: starting Boot0001 "Linux Boot Manager"/],
    ['Linux version', 'initrd', /Linux version 6\.1\.0-56-amd64/],
    ['<<< stage 1: loading kernel modules >>>', 'initrd', /^<<< stage 1: loading kernel modules >>>$/],
    ['<<< stage 1: importing ZFS pool rpool >>>', 'initrd', /importing ZFS pool rpool/],
    ['<<< NixOS Stage 2 >>>', 'stage-2', /^<<< NixOS Stage 2 >>>$/],
    ['Welcome to NixOS 25.11 (Xantusia)!', 'stage-2', /^Welcome to NixOS 25\.11 \(Xantusia\)!$/],
    ['<<< Welcome to NixOS 25.11.20261101', 'login', /^<<< Welcome to NixOS 25\.11\.20261101\.fa1ce0f \(x86_64\) - ttyS0 >>>$/],
    ['server login: root (automatic login)', 'login', /^server login: root \(automatic login\)$/],
  ];
  for (const [marker, stage, evidence] of cases) {
    it(`cut after ${marker} → ${stage}`, () => {
      const s = bootStage(cutAfter(INSTALLED, marker));
      expect(s.reached).toBe(stage);
      expect(s.evidence).toMatch(evidence);
    });
  }

  it('the whole log is a login (the engine then works over the control console)', () => {
    expect(bootStage(INSTALLED)).toEqual({ reached: 'login', evidence: 'server login: root (automatic login)' });
  });

  it('an empty or silent console is none', () => {
    expect(bootStage('')).toEqual({ reached: 'none', evidence: '' });
    expect(bootStage(INSTALLED.split('\n').filter((l) => !/BdsDxe|Boot in|Linux version|EFI stub|<<<|Welcome|login/.test(l)).slice(0, 50).join('\n')).reached).toBe('none');
  });

  it('cut inside systemd-boot’s menu → boot-loader, the evidence a window around the countdown', () => {
    // The menu and its countdown are redrawn on one line, and the kernel's EFI stub then
    // writes on that same line: cut where the countdown ends, as a hung loader would leave it.
    const at = INSTALLED.indexOf('Boot in 1 s.') + 'Boot in 1 s.'.length;
    const s = bootStage(INSTALLED.slice(0, at));
    expect(s.reached).toBe('boot-loader');
    expect(s.evidence).toMatch(/Boot in 1 s\.$/);
    expect(s.evidence.length).toBeLessThanOrEqual(240);
    // The same line with the EFI stub's words after it: the kernel has started.
    const stub = bootStage(cutAfter(INSTALLED, /Boot in 5 s\./));
    expect(stub.reached).toBe('initrd');
    expect(stub.evidence).toMatch(/EFI stub: Loaded initrd from LINUX_EFI_INITRD_MEDIA_GUID device path$/);
  });
});

describe('bootStage on the fixture installer (direct kernel boot of the ISO entry)', () => {
  it('goes initrd → stage 2 → login → reboot', () => {
    expect(bootStage(cutAfter(INSTALLER, 'EFI stub:')).reached).toBe('initrd');
    expect(bootStage(cutAfter(INSTALLER, 'looking for the installer medium')).evidence).toBe('<<< stage 1: looking for the installer medium LABEL=nixos-minimal-25.11-x86_64 >>>');
    expect(bootStage(cutAfter(INSTALLER, 'Welcome to NixOS 25.11 (Xantusia)!')).reached).toBe('stage-2');
    expect(bootStage(cutAfter(INSTALLER, '<<< Welcome to NixOS 25.11 (x86_64) - ttyS0 >>>')).reached).toBe('login');
    expect(bootStage(cutAfter(INSTALLER, 'nixos login: nixos (automatic login)')).evidence).toBe('nixos login: nixos (automatic login)');
    expect(bootStage(INSTALLER)).toEqual({ reached: 'reboot', evidence: '[   76.825352] reboot: Power down' });
  });

  it('nixos-install’s last words on the console are the install stage', () => {
    const install = fx('nixos-install.output.txt');
    expect(bootStage(`${cutAfter(INSTALLER, '(automatic login)')}\n${install}`)).toEqual({ reached: 'install', evidence: 'installation finished!' });
  });

  it('reads the raw console too (ANSI colours, CR LF), as the Console hands it over', () => {
    const raw = '\x1b[2J\x1b[01;01HEFI stub: Loaded initrd\r\n<<< stage 1: loading kernel modules >>>\r\n\r\nWelcome to \x1b[1;34mNixOS 25.11 (Xantusia)\x1b[0m!\r\n';
    expect(bootStage(raw)).toEqual({ reached: 'stage-2', evidence: 'Welcome to NixOS 25.11 (Xantusia)!' });
  });
});

describe('later markers win: a reboot, then what the next boot showed', () => {
  it('a restart ends in reboot', () => {
    expect(bootStage(fx('installed-zfs-restart.serial.log'))).toEqual({ reached: 'reboot', evidence: '[   67.335258] reboot: Restarting system' });
  });

  it('"secureboot: Secure boot disabled" is not a reboot', () => {
    const early = cutAfter(INSTALLED, 'Secure boot disabled');
    expect(bootStage(early).reached).toBe('initrd');
  });

  it('a restart into a firmware that finds nothing to boot is firmware again, with the failures', () => {
    const log = `${fx('installed-zfs-restart.serial.log')}\n${fx('firmware-shell.serial.log')}`;
    expect(bootStage(log)).toEqual({ reached: 'firmware', evidence: 'Shell>' });
    const fw = firmwareFailures(log);
    expect(fw.shell).toBe(true);
    expect(fw.failed).toEqual([
      'BdsDxe: failed to load Boot0001 "UEFI QEMU NVMe Ctrl REHEARSE0 1" from PciRoot(0x0)/Pci(0x1,0x0)/Pci(0x0,0x0)/NVMe(0x1,00-00-00-00-00-00-00-00): Not Found',
      'BdsDxe: failed to load Boot0002 "UEFI QEMU NVMe Ctrl REHEARSE1 1" from PciRoot(0x0)/Pci(0x2,0x0)/Pci(0x0,0x0)/NVMe(0x1,00-00-00-00-00-00-00-00): Not Found',
    ]);
    expect(firmwareFailures(INSTALLED)).toEqual({ failed: [], shell: false });
  });
});

describe('how stage 1 gave up', () => {
  it('the fixture’s ext4 root that stage 1 could not mount (a real failed boot)', () => {
    const log = fx('ext4-stage1-failed.serial.log');
    expect(bootStage(log)).toEqual({ reached: 'initrd', evidence: 'An error occurred in stage 1 of the boot process. Starting an emergency shell (boot.shell_on_fail).' });
    expect(stage1Failure(log)).toEqual({
      line: '<<< stage 1 failed: cannot mount /dev/nvme0n1p2 >>>',
      reasons: ['mount: mounting /dev/nvme0n1p2 on /mnt-root failed: No such file or directory'],
    });
    expect(stage1Failure(INSTALLED)).toBeUndefined();
  });

  it('NixOS’s own stage 1 (stage-1-init.sh greeting and fail(), zfs.nix import loop)', () => {
    // The lines nixpkgs prints, in its order: the greeting, the import attempt, zpool's error,
    // then fail()'s prompt (nixos/modules/system/boot/stage-1-init.sh, tasks/filesystems/zfs.nix).
    const log = [
      '<<< NixOS Stage 1 >>>',
      '',
      'loading module zfs...',
      'running udev...',
      'importing root ZFS pool "rpool"...............................................................',
      "cannot import 'rpool': no such pool available",
      '',
      "An error occurred in stage 1 of the boot process, which must mount the",
      "root filesystem on `/mnt-root' and then start stage 2.  Press one",
      'of the following keys:',
    ].join('\n');
    expect(bootStage(log.split('\n').slice(0, 1).join('\n'))).toEqual({ reached: 'initrd', evidence: '<<< NixOS Stage 1 >>>' });
    expect(bootStage(log).reached).toBe('initrd');
    expect(stage1Failure(log)).toEqual({
      line: 'An error occurred in stage 1 of the boot process, which must mount the',
      reasons: ["cannot import 'rpool': no such pool available"],
    });
  });

  it('systemd in a systemd initrd greets with "(Initrd)": still stage 1', () => {
    expect(bootStage('Welcome to NixOS 25.11 (Xantusia) (Initrd)!').reached).toBe('initrd');
    expect(bootStage('Welcome to NixOS 25.11 (Xantusia) (Initrd)!\nWelcome to NixOS 25.11 (Xantusia)!').reached).toBe('stage-2');
  });
});

describe('kernelPanic', () => {
  it('finds the panic line, not its "---[ end" echo', () => {
    const log = `${cutAfter(INSTALLED, 'Linux version')}\n[    2.345678] VFS: Cannot open root device "nvme0n1p2" or unknown-block(0,0): error -6\n[    2.345700] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)\n[    2.346000] ---[ end Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0) ]---`;
    expect(kernelPanic(log)).toBe('Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)');
    expect(bootStage(log).reached).toBe('initrd');
  });

  it('none in boots that did not panic', () => {
    for (const name of ['installed-zfs-boot.serial.log', 'installer-boot.serial.log', 'ext4-stage1-failed.serial.log', 'firmware-shell.serial.log', 'installed-zfs-restart.serial.log']) {
      expect(kernelPanic(fx(name))).toBeUndefined();
    }
  });
});

describe('the fixture installer prints the markers bootStage reads', () => {
  const src = (p: string) => readFileSync(new URL(`../../vm/fixture/${p}`, import.meta.url), 'utf8');
  it('stage 1 (vm/fixture/initrd/init) and stage 2 (rootfs/usr/lib/nixos-fixture/stage-2-init)', () => {
    // stage-1-init.sh's own words now: its greeting and fail()'s text, which BOOT_GAVE_UP ends a wait on.
    expect(src('initrd/init')).toContain('info "<<< NixOS Stage 1 >>>"');
    expect(src('initrd/init')).toContain('An error occurred in stage 1 of the boot process, which must mount the');
    expect(BOOT_GAVE_UP.test('An error occurred in stage 1 of the boot process, which must mount the\r\n')).toBe(true);
    // Only a whole line: the wait goes on until the rest of the panic line has arrived.
    expect(BOOT_GAVE_UP.test('[    4.594505] Kernel panic - not syncing: VFS: Unable')).toBe(false);
    expect(BOOT_GAVE_UP.exec('[    4.594505] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)\r\n[    4.6] CPU: 0')?.[0].trim()).toBe('Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)');
    expect(src('rootfs/usr/lib/nixos-fixture/stage-2-init')).toContain('echo "<<< NixOS Stage 2 >>>"');
    expect(src('rootfs/usr/local/bin/nixos-install')).toContain('echo "installation finished!"');
    expect(bootStage('<<< NixOS Stage 1 >>>').reached).toBe('initrd');
  });

  it('normalizeSerial drops the engine’s transcript stamps but keeps the kernel’s', () => {
    expect(normalizeSerial('[   10.813] [    0.000000] Linux version 6.1.0\n[   13.179] <<< stage 1: x >>>')).toBe('[    0.000000] Linux version 6.1.0\n<<< stage 1: x >>>');
  });
});

describe('the boot wait ends at once when the guest gives up (issue 12 item 10)', () => {
  // nixpkgs nixos/modules/system/boot/stage-1-init.sh fail(): stage 1 then waits for a key.
  const STAGE1_FAIL = [
    '<<< NixOS Stage 1 >>>',
    'importing root ZFS pool "rpool"...............................................................',
    "cannot import 'rpool': no such pool available",
    '',
    'An error occurred in stage 1 of the boot process, which must mount the',
    "root filesystem on `/mnt-root' and then start stage 2.  Press one",
    'of the following keys:',
    '',
    '  r) to reboot immediately',
    '  *) to ignore the error and continue',
  ].join('\r\n');

  it('the installed system’s wait (verify.ts BOOT_DONE) stops on stage 1’s fail(), naming the stage', async () => {
    const { BOOT_DONE } = await import('../../src/phases/installed-vm.js');
    const c = new Console({ name: 'installed serial' });
    const seen = c.waitFor(BOOT_DONE, 600_000);
    c.feed(`${STAGE1_FAIL}\r\n`);
    const m = await seen; // before this test's own 5 s limit, not after the 10 minutes
    expect(m[0].trim()).toBe('An error occurred in stage 1 of the boot process, which must mount the');
    expect(gaveUpStage(m[0])).toBe('stage 1 (the initrd)');
  });

  it('a panic and systemd’s emergency mode end it too; a login ends it as a success', async () => {
    const { BOOT_DONE } = await import('../../src/phases/installed-vm.js');
    expect(BOOT_DONE.exec('[    2.3] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)\r\n')?.[0]).toMatch(/^Kernel panic.*unknown-block\(0,0\)\r\n$/);
    expect(BOOT_DONE.test('[    2.3] Kernel panic - not syncing: VFS: Unable')).toBe(false); // not until the line is whole
    expect(gaveUpStage('You are in emergency mode. After logging in, type "journalctl -xb"')).toBe('stage 2 (systemd emergency mode)');
    expect(BOOT_DONE.exec('server login: root (automatic login)')?.[0]).toBe('login: root (automatic login)');
    expect(BOOT_GAVE_UP.test('<<< NixOS Stage 1 >>>\nimporting root ZFS pool "rpool"...')).toBe(false);
  });
});
