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
}

export interface Installer {
  machine: Machine;
  boot: IsoBoot;
}

/** Creates and starts the installer VM and returns once a root control shell answers. */
export async function startInstaller(opts: InstallerOptions): Promise<Installer> {
  const { iso, ...rest } = opts;
  const machine = await Machine.create({ memoryMiB: 2048, ...rest, iso: { path: iso } });
  try {
    const bootDir = path.join(machine.workDir, 'iso-boot');
    mkdirSync(bootDir, { recursive: true });
    const boot = await isoBoot(iso, bootDir);
    // The kernel and initrd are extracted into the machine's own work dir, which exists only
    // once the machine is created; the spec is read when QEMU starts.
    machine.spec.kernelBoot = { kernel: boot.kernel, initrd: boot.initrd, append: boot.append };
    await machine.start();
    await machine.waitForSerial(INSTALLER_PROMPT, 120);
    await machine.connect({ sudo: true });
    return { machine, boot };
  } catch (e) {
    await machine.stop();
    throw e;
  }
}
