import path from 'node:path';
import { inject } from 'vitest';
import { chooseAccel, timeoutScale } from '../../src/qemu/accel.js';
import { Machine, type MachineOptions } from '../../src/qemu/machine.js';
import { qemuBinary } from '../../src/qemu/tools.js';
import { testLogDir } from './paths.js';

export { testLogDir };

let accel: Awaited<ReturnType<typeof chooseAccel>> | undefined;

/** A Machine running the test guest with two NVMe disks, accelerated as well as this host allows. */
export async function testGuestMachine(name: string, extra: Partial<MachineOptions> = {}): Promise<Machine> {
  const guest = inject('guest');
  accel ??= await chooseAccel(qemuBinary(), 'auto');
  return Machine.create({
    name,
    accel: accel.accel,
    timeoutScale: timeoutScale(accel.accel),
    memoryMiB: 512,
    disks: [
      { id: 'disk0', serial: 'REHEARSE0', size: '1G' },
      { id: 'disk1', serial: 'REHEARSE1', size: '1G' },
    ],
    kernelBoot: { kernel: guest.kernel, initrd: guest.initrd, append: guest.cmdline },
    logDir: testLogDir(name),
    ...extra,
  });
}

export const PROMPT = /\]# $/m;

