// Starting a NixOS installer ISO (the real one or the fixture) as a Machine, through the
// generic ISO path (iso/iso.ts): its own boot menu's installer entry, the serial console, the
// `nixos` autologin, then a root control shell (sudo, as the installer's wheel user may).
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { BOOT_GAVE_UP, gaveUpStage } from './diagnosis/boot-stage.js';
import { GuestGaveUpError } from './errors.js';
import { type IsoBoot, isoBoot } from './iso/iso.js';
import type { InstallerState } from './installer-state.js';
import { Machine, type MachineOptions } from './qemu/machine.js';
import { DEFAULT_MEMORY_MIB } from './qemu/spec.js';

/** The `nixos` user's prompt on the installer (nixpkgs programs/bash/bash.nix promptInit). */
export const INSTALLER_PROMPT = /\[nixos@[\w-]+:[^\]]*\]\$/;

export interface InstallerOptions extends Omit<MachineOptions, 'iso' | 'kernelBoot'> {
  iso: string;
  /** Kernel parameters added after the boot entry's own (and the serial console). */
  extraAppend?: string[];
  /** Runs alongside the boot once QEMU has started (fault injection). */
  onStarted?: (m: Machine) => Promise<void>;
  /**
   * Restore this saved installer (installer-state.ts) instead of booting the ISO; the disks are
   * then plugged in after the restore, as new devices the running installer detects.
   */
  restore?: InstallerState;
}

/** How the kernel gives up: seen on the serial console, it ends the wait at once. */
export const KERNEL_PANIC = /Kernel panic - not syncing:[^\n]*/;

export interface Installer {
  machine: Machine;
  boot: IsoBoot;
  /** The saved installer this one was restored from (installer-state.ts), when it was. */
  restoredFrom?: string;
}

/** Creates and starts the installer VM and returns once a root control shell answers. */
/**
 * A booting installer's wait: its autologin prompt, then the root control shell; a boot that
 * gives up (boot-stage.ts BOOT_GAVE_UP) ends it at once as a GuestGaveUpError.
 */
export async function reachInstallerShell(machine: Machine): Promise<void> {
  const seen = await machine.waitForSerial(new RegExp(`${INSTALLER_PROMPT.source}|${BOOT_GAVE_UP.source}`), 120);
  if (BOOT_GAVE_UP.test(seen[0])) throw new GuestGaveUpError('installer', gaveUpStage(seen[0]), seen[0].trim(), machine.serialTail(200));
  await machine.connect({ sudo: true });
}

export async function startInstaller(opts: InstallerOptions): Promise<Installer> {
  if (opts.restore) return restoreInstaller(opts, opts.restore);
  const { iso, extraAppend, onStarted, restore: _r, ...rest } = opts;
  const machine = await Machine.create({ memoryMiB: DEFAULT_MEMORY_MIB, ...rest, iso: { path: iso } });
  try {
    const bootDir = path.join(machine.workDir, 'iso-boot');
    mkdirSync(bootDir, { recursive: true });
    const boot = await isoBoot(iso, bootDir);
    // The kernel and initrd are extracted into the machine's own work dir, which exists only
    // once the machine is created; the spec is read when QEMU starts.
    const append = [boot.append, ...(extraAppend ?? [])].join(' ');
    machine.spec.kernelBoot = { kernel: boot.kernel, initrd: boot.initrd, append };
    await machine.start();
    onStarted?.(machine).catch(() => {});
    await reachInstallerShell(machine);
    return { machine, boot };
  } catch (e) {
    // The serial log's end says how far the boot got (report.stage); keep it past stop().
    const serialTail = machine.serialTail(200);
    await machine.stop();
    throw Object.assign(e as Error, { serialTail });
  }
}

/** Thrown when a saved installer could not be restored: the caller boots the ISO instead. */
export class RestoreError extends Error {
  override name = 'RestoreError';
  constructor(
    readonly stateDir: string,
    readonly reason: string,
  ) {
    super(`the saved installer ${stateDir} could not be restored: ${reason}`);
  }
}

async function restoreInstaller(opts: InstallerOptions, s: InstallerState): Promise<Installer> {
  const { iso, extraAppend, onStarted, restore: _r, disks, ...rest } = opts;
  if (extraAppend?.length || onStarted) throw new Error('a restored installer cannot take extra kernel parameters or boot hooks: it does not boot');
  const machine = await Machine.create({
    ...rest,
    memoryMiB: s.memoryMiB,
    cpus: s.cpus,
    disks: [],
    hotplugSlots: s.slots,
    iso: { path: iso },
    restore: { state: s.state, efiVars: s.efiVars, serialLog: s.bootSerialLog },
  });
  try {
    const boot = await isoBoot(iso, path.join(machine.workDir, 'iso-boot'));
    if (boot.append !== s.append) throw new RestoreError(s.dir, `it was booted with '${s.append}', this ISO's entry says '${boot.append}'`);
    machine.spec.kernelBoot = { kernel: boot.kernel, initrd: boot.initrd, append: boot.append };
    try {
      await machine.start();
    } catch (e) {
      throw new RestoreError(s.dir, (e as Error).message.split('\n')[0]!);
    }
    // The saved clock is the save's: set the guest's to now (file times, generation dates).
    await machine.succeed(`date -u -s @${Math.floor(Date.now() / 1000)} >/dev/null`);
    for (const d of disks ?? []) await machine.hotplugDisk(d);
    return { machine, boot, restoredFrom: s.dir };
  } catch (e) {
    const serialTail = machine.serialTail(200);
    await machine.stop();
    throw Object.assign(e as Error, { serialTail });
  }
}
