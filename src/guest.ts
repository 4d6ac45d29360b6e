// Locates and builds the engine's demo/test guest (vm/build-test-guest.mjs), which ships beside
// dist/ and src/ in the package.
export interface GuestManifest {
  key: string;
  kernel: string;
  initrd: string;
  kernelVersion: string;
  cmdline: string;
  packages: Record<string, string>;
}

import type { Accel } from './qemu/spec.js';
import { timeoutScale } from './qemu/accel.js';
import type { MachineOptions } from './qemu/machine.js';

/** The test guest's login shell prompt on the serial console. */
export const GUEST_PROMPT = /\]# $/m;

/** Machine options for the test guest: direct kernel boot through OVMF, two NVMe disks. */
export function testGuestOptions(guest: GuestManifest, name: string, accel: Accel, diskSize = '1G'): MachineOptions {
  return {
    name,
    accel,
    timeoutScale: timeoutScale(accel),
    memoryMiB: 512,
    disks: [
      { id: 'disk0', serial: 'REHEARSE0', size: diskSize },
      { id: 'disk1', serial: 'REHEARSE1', size: diskSize },
    ],
    kernelBoot: { kernel: guest.kernel, initrd: guest.initrd, append: guest.cmdline },
  };
}

export async function buildTestGuest(log: (s: string) => void = () => {}): Promise<GuestManifest> {
  // Resolved at run time (not bundled): from src/ or dist/, the builder is at ../vm/.
  const url = new URL('../vm/build-test-guest.mjs', import.meta.url).href;
  const mod = (await import(url)) as { buildTestGuest: (o: { log: (s: string) => void }) => Promise<GuestManifest> };
  return mod.buildTestGuest({ log });
}
