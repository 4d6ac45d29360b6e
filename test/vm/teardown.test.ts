// Teardown on every exit path: stop(), an error while starting, and SIGTERM/SIGINT to the
// process that owns the VM. No QEMU process, socket or temp dir may be left behind.
import { existsSync } from 'node:fs';
import { execa } from 'execa';
import { describe, expect, it, inject } from 'vitest';
import { Machine } from '../../src/qemu/machine.js';
import { PROMPT, testGuestMachine } from '../helpers/vm.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function qemuPidsIn(dir: string): Promise<number[]> {
  const r = await execa('pgrep', ['-f', `qemu-system.*${dir}`], { reject: false });
  return r.stdout.split('\n').filter(Boolean).map(Number);
}

describe('teardown', () => {
  it('stop() leaves no QEMU process and no work directory; --keep keeps the disks', async () => {
    const m = await testGuestMachine('stop');
    await m.start();
    await m.waitForSerial(PROMPT, 60);
    const pids = await qemuPidsIn(m.workDir);
    expect(pids).toHaveLength(1);
    await m.stop();
    expect(alive(pids[0])).toBe(false);
    expect(existsSync(m.workDir)).toBe(false);

    const k = await testGuestMachine('keep', { keep: true });
    await k.start();
    await k.stop();
    expect(existsSync(`${k.workDir}/disk0.qcow2`)).toBe(true);
    expect(existsSync(`${k.workDir}/efivars.fd`)).toBe(true);
    await execa('rm', ['-rf', k.workDir]);
  });

  it('powerDown() presses the ACPI power button and the guest powers itself off', async () => {
    const m = await testGuestMachine('powerdown');
    try {
      await m.start();
      await m.waitForSerial(PROMPT, 60);
      // Only a guest-side poweroff makes the kernel print this; QMP quit would not.
      const guestSaid = m.serial.waitFor(/reboot: Power down/, m.t(30)).then(() => true, () => false);
      await m.powerDown(30);
      expect(await guestSaid).toBe(true);
      expect(m.isRunning).toBe(false);
      expect(m.qmpEvents().some((e) => e.event === 'POWERDOWN')).toBe(true);
    } finally {
      await m.stop();
    }
  });

  it('a bad spec fails before anything starts, and leaves no directory', async () => {
    const guest = inject('guest');
    const before = (await execa('sh', ['-c', 'ls -d /tmp/nixos-rehearse-bad-* 2>/dev/null | wc -l'])).stdout;
    await expect(
      Machine.create({
        name: 'bad',
        accel: 'tcg',
        disks: [
          { id: 'disk0', serial: 'SAME', size: '1G' },
          { id: 'disk1', serial: 'SAME', size: '1G' },
        ],
        kernelBoot: { kernel: guest.kernel },
      }),
    ).rejects.toThrow(/serial SAME is used twice/);
    const after = (await execa('sh', ['-c', 'ls -d /tmp/nixos-rehearse-bad-* 2>/dev/null | wc -l'])).stdout;
    expect(after).toBe(before);
  });

  it('QEMU failing to start is an error that quotes QEMU, and leaves nothing behind', async () => {
    const m = await testGuestMachine('nokernel', { kernelBoot: { kernel: '/nonexistent/bzImage' } });
    await expect(m.start()).rejects.toThrow(/QEMU exited during start \(1\): [\s\S]*\/nonexistent\/bzImage[\s\S]*log: /);
    expect(existsSync(m.workDir)).toBe(false);
    expect(await qemuPidsIn(m.workDir)).toEqual([]);
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} to the owning process tears the VM down`, async () => {
      const guest = inject('guest');
      const child = execa(process.execPath, ['--import', 'tsx', 'test/helpers/hold-machine.ts'], {
        env: { GUEST: JSON.stringify(guest) },
        reject: false,
        stdin: 'ignore',
      });
      // (Not `for await (const line of child)`: leaving that loop early stops signal delivery in execa 9.)
      const ready = await new Promise<RegExpExecArray>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d) => {
          out += d;
          const m = /^READY (\d+) (\S+)$/m.exec(out);
          if (m) resolve(m);
        });
        child.nodeChildProcess.once('exit', () => reject(new Error(`hold-machine exited early: ${out}`)));
      });
      const pid = Number(ready[1]);
      const workDir = ready[2];
      expect(pid).toBeGreaterThan(0);
      expect(alive(pid)).toBe(true);
      expect(existsSync(workDir)).toBe(true);
      child.kill(signal);
      const r = await child;
      expect(r.exitCode).toBe(signal === 'SIGTERM' ? 143 : 130);
      expect(alive(pid)).toBe(false);
      expect(existsSync(workDir)).toBe(false);
    });
  }
});
