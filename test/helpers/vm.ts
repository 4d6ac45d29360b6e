import { inject } from 'vitest';
import { GUEST_PROMPT, testGuestOptions } from '../../src/guest.js';
import { chooseAccel } from '../../src/qemu/accel.js';
import { Machine, type MachineOptions } from '../../src/qemu/machine.js';
import { qemuBinary } from '../../src/qemu/tools.js';
import { testLogDir } from './paths.js';

export { testLogDir };

let accel: Awaited<ReturnType<typeof chooseAccel>> | undefined;

/** A Machine running the test guest with two NVMe disks, accelerated as well as this host allows. */
export async function testGuestMachine(name: string, extra: Partial<MachineOptions> = {}): Promise<Machine> {
  accel ??= await chooseAccel(qemuBinary(), 'auto');
  return Machine.create({ ...testGuestOptions(inject('guest'), name, accel.accel), logDir: testLogDir(name), ...extra });
}

export const PROMPT = GUEST_PROMPT;
