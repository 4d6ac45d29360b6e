// The engine demo: boot the tiny guest through OVMF with two NVMe disks, talk to it over the
// serial console and the control channel, reboot it, power it off. The full install rehearsal
// replaces this once it exists; until then it shows the engine working on this machine.
import path from 'node:path';
import { GUEST_PROMPT, buildTestGuest, testGuestOptions } from './guest.js';
import { chooseAccel } from './qemu/accel.js';
import { Machine } from './qemu/machine.js';
import { qemuBinary } from './qemu/tools.js';

export async function runEngineDemo(opts: { accel: 'auto' | 'kvm' | 'tcg'; keep?: boolean; logDir: string }): Promise<number> {
  const t0 = Date.now();
  const say = (s: string) => process.stdout.write(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${s}\n`);
  const decision = await chooseAccel(qemuBinary(), opts.accel);
  say(`accelerator: ${decision.accel} (${decision.reason})`);
  const guest = await buildTestGuest(say);
  say(`guest: Linux ${guest.kernelVersion} + busybox (cached as ${guest.key})`);
  const logDir = path.resolve(opts.logDir, `demo-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  const m = await Machine.create({ ...testGuestOptions(guest, 'demo', decision.accel, '2G'), keep: opts.keep, logDir });
  try {
    await m.start();
    say(`QEMU started; logs in ${logDir}`);
    await m.waitForSerial(GUEST_PROMPT, 30);
    say('serial shell is up');
    await m.connect();
    say('control shell on /dev/hvc0 is up');
    say(`UEFI: ${(await m.succeed('test -d /sys/firmware/efi && echo yes || echo no')).trim()}`);
    for (const l of (await m.succeed('lsblk -d -o NAME,SERIAL,SIZE')).trimEnd().split('\n')) say(`  ${l}`);
    const before = m.resetCount;
    await m.run('reboot').catch(() => {});
    await m.waitForReset(30, before);
    say('guest rebooted');
    await m.waitForSerial(GUEST_PROMPT, 30);
    await m.connect();
    say(`back after reboot: uptime ${(await m.succeed('cut -d" " -f1 /proc/uptime')).trim()}s`);
    await m.run('poweroff').catch(() => {});
    await m.waitForShutdown(30);
    say('powered off');
    return 0;
  } catch (e) {
    say(`FAILED: ${(e as Error).message}`);
    say(`logs: ${logDir}`);
    return 1;
  } finally {
    await m.stop();
    if (opts.keep) say(`kept ${m.workDir}`);
  }
}
