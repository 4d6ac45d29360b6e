// Starts a test-guest VM, prints "READY <qemu pid> <work dir>", and waits to be signalled.
import { Machine } from '../../src/qemu/machine.js';
import { testLogDir } from './paths.js';

const guest = JSON.parse(process.env.GUEST!);
const m = await Machine.create({
  name: 'hold',
  accel: 'tcg',
  memoryMiB: 512,
  disks: [{ id: 'disk0', serial: 'HOLD0', size: '1G' }],
  kernelBoot: { kernel: guest.kernel, initrd: guest.initrd, append: guest.cmdline },
  logDir: testLogDir('hold'),
});
await m.start();
console.log(`READY ${m.pid} ${m.workDir}`);
setInterval(() => {}, 1000);
