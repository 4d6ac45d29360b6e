// The engine against a real QEMU: OVMF, two NVMe disks, the serial console, the control
// shell on the virtio console, a guest reboot, EFI variables across power cycles, teardown.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFirmware } from '../../src/qemu/firmware.js';
import type { Machine } from '../../src/qemu/machine.js';
import { PROMPT, testGuestMachine } from '../helpers/vm.js';

describe('a UEFI VM with two NVMe disks', () => {
  let m: Machine;
  beforeAll(async () => {
    m = await testGuestMachine('engine', { sshHostPort: 'auto' });
    await m.start();
    await m.waitForSerial(PROMPT, 60);
    await m.connect();
  });
  afterAll(async () => {
    await m?.stop();
  });

  it('booted through OVMF (a UEFI boot) and lsblk shows both disks with the serials we gave them', async () => {
    expect((await m.run('test -d /sys/firmware/efi/efivars')).exitCode).toBe(0);
    const out = await m.succeed('lsblk -d -n -o NAME,SERIAL');
    const serials = out.trim().split('\n').map((l) => l.trim().split(/\s+/)[1]).sort();
    expect(serials).toEqual(['REHEARSE0', 'REHEARSE1']);
    expect(await m.succeed('cat /sys/block/nvme0n1/device/model')).toMatch(/QEMU NVMe Ctrl/);
  });

  it('reports exit codes: false gives 1, and succeed() throws with the output tail', async () => {
    expect(await m.run('false')).toEqual({ exitCode: 1, output: '' });
    expect((await m.run('exit 42')).exitCode).toBe(42);
    await expect(m.succeed('echo about to fail; ls /nope')).rejects.toThrow(/exit code 1[\s\S]*about to fail[\s\S]*\/nope/);
  });

  it('carries 1 MB of output intact over the control channel', async () => {
    await m.succeed('head -c 786432 /dev/urandom > /tmp/blob; base64 -w 76 /tmp/blob | head -c 1048576 > /tmp/mb');
    const out = await m.succeed('cat /tmp/mb');
    expect(out.length).toBe(1048576);
    const guestSum = (await m.succeed('sha256sum /tmp/mb')).split(' ')[0];
    expect(createHash('sha256').update(out).digest('hex')).toBe(guestSum);
  });

  it('is not fooled by guest output that forges completion markers, on serial or control', async () => {
    // Print everything a frame is made of, including a well-formed frame for a guessed nonce.
    const forge = `printf 'nr000000111111x\\nAAAA\\n0:111111xnr000000\\n' ; echo done`;
    expect(await m.run(forge)).toEqual({ exitCode: 0, output: 'nr000000111111x\nAAAA\n0:111111xnr000000\ndone\n' });
    const serial = m.serialShell(60);
    expect(await serial.run(`${forge}; exit 4`)).toEqual({ exitCode: 4, output: 'nr000000111111x\nAAAA\n0:111111xnr000000\ndone\n' });
  });

  it('sends keys and waits for text on the serial console', async () => {
    m.serial.skipPending();
    m.serial.sendKeys('text:echo typed-$((6*7))', 'enter');
    await m.waitForSerial(/typed-42/, 30);
    await expect(m.serial.waitFor(/never-printed/, 300)).rejects.toMatchObject({ kind: 'console-timeout', message: expect.stringMatching(/timed out after 0.3s/), serialTail: expect.stringMatching(/typed-42/) });
  });

  it('keeps timestamped raw and clean transcripts on disk', async () => {
    const files = readdirSync(m.logDir);
    expect(files.some((f) => /^serial-\d+\.raw$/.test(f))).toBe(true);
    const log = files.find((f) => /^serial-\d+\.log$/.test(f))!;
    const text = readFileSync(path.join(m.logDir, log), 'utf8');
    expect(text).toMatch(/^\[\s+\d+\.\d{3}\] /m);
    expect(text).toContain('rehearse test guest: up after');
    expect(text).not.toContain('\x1b[');
  });

  it('forwards a loopback host port to the guest for SSH', async () => {
    expect(m.sshPort).toBeGreaterThan(1024);
    const sock = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect(m.sshPort!, '127.0.0.1', () => resolve(s));
      s.once('error', reject);
    });
    sock.destroy();
  });

  it('hot-unplugs an NVMe disk through QMP, and the guest sees it gone', async () => {
    await m.hotUnplug('nvme-disk1');
    const out = await m.succeed('lsblk -d -n -o SERIAL');
    expect(out.trim().split(/\s+/)).toEqual(['REHEARSE0']);
    expect(m.qmpEvents().some((e) => e.event === 'DEVICE_DELETED' && e.data?.device === 'nvme-disk1')).toBe(true);
  });

  it('detects a guest reboot and the session continues after it', async () => {
    const before = m.resetCount;
    const bootId = (await m.succeed('cat /proc/sys/kernel/random/boot_id')).trim();
    await m.run('reboot').catch(() => {});
    await m.waitForReset(60, before);
    expect(m.resetCount).toBe(before + 1);
    expect(() => m.shell).toThrow(/connect\(\) first/);
    await m.waitForSerial(PROMPT, 60);
    await m.connect();
    const after = (await m.succeed('cat /proc/sys/kernel/random/boot_id')).trim();
    expect(after).not.toBe(bootId);
    expect(await m.succeed('echo still here')).toBe('still here\n');
  });
});

describe('EFI variables live in the VM’s own vars file', () => {
  it('survive a power cycle of the same VM, and a new VM starts from a clean template', async () => {
    const m = await testGuestMachine('efivars');
    const guid = '8be4df61-93ca-11d2-aa0d-00e098032b8c'.replace('8be4df61', '2c7d9b1e');
    const v = `/sys/firmware/efi/efivars/RehearseProbe-${guid}`;
    try {
      await m.start();
      await m.waitForSerial(PROMPT, 60);
      await m.connect();
      // efivarfs: 4 bytes of attributes (NV|BS|RT = 7), then the data.
      await m.succeed(`printf '\\007\\000\\000\\000rehearse' > ${v}`);
      await m.run('poweroff').catch(() => {});
      await m.waitForShutdown(60);
      await m.start();
      await m.waitForSerial(PROMPT, 60);
      await m.connect();
      expect(await m.succeed(`tail -c 8 ${v}`)).toBe('rehearse');
    } finally {
      await m.stop();
    }
    // A new VM's variable store is the firmware's template, byte for byte (what its firmware
    // reads at power-on), not the one the variable above was written to.
    const fresh = await testGuestMachine('efivars-fresh');
    try {
      const vars = readFileSync(fresh.spec.firmware.vars);
      expect(vars.equals(readFileSync(findFirmware().vars))).toBe(true);
      expect(vars.includes(Buffer.from('rehearse'))).toBe(false);
    } finally {
      await fresh.stop();
    }
    expect(existsSync(m.workDir)).toBe(false);
  });
});
