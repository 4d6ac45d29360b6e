// Starting a NixOS installer ISO (the real one or the fixture) as a Machine, through the
// generic ISO path (iso/iso.ts): its own boot menu's installer entry, the serial console, the
// `nixos` autologin, then a root control shell (sudo, as the installer's wheel user may).
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { type IsoBoot, isoBoot } from './iso/iso.js';
import { Machine, type MachineOptions } from './qemu/machine.js';

/** The `nixos` user's prompt on the installer (nixpkgs programs/bash/bash.nix promptInit). */
export const INSTALLER_PROMPT = /\[nixos@[\w-]+:[^\]]*\]\$/;

export interface InstallerOptions extends Omit<MachineOptions, 'iso' | 'kernelBoot'> {
  iso: string;
  /** Kernel parameters added after the boot entry's own (and the serial console). */
  extraAppend?: string[];
  /** Runs alongside the boot once QEMU has started (fault injection). */
  onStarted?: (m: Machine) => Promise<void>;
}

/** How the kernel gives up: seen on the serial console, it ends the wait at once. */
export const KERNEL_PANIC = /Kernel panic - not syncing:[^\n]*/;

export interface Installer {
  machine: Machine;
  boot: IsoBoot;
}

/** Creates and starts the installer VM and returns once a root control shell answers. */
export async function startInstaller(opts: InstallerOptions): Promise<Installer> {
  const { iso, extraAppend, onStarted, ...rest } = opts;
  const machine = await Machine.create({ memoryMiB: 2048, ...rest, iso: { path: iso } });
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
    const seen = await machine.waitForSerial(new RegExp(`${INSTALLER_PROMPT.source}|${KERNEL_PANIC.source}`), 120);
    if (KERNEL_PANIC.test(seen[0])) throw new Error(`the installer kernel panicked: ${seen[0].trim()}`);
    await machine.connect({ sudo: true });
    return { machine, boot };
  } catch (e) {
    // The serial log's end says how far the boot got (report.stage); keep it past stop().
    const serialTail = machine.serialTail(200);
    await machine.stop();
    throw Object.assign(e as Error, { serialTail });
  }
}
