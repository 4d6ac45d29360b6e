// The installer saved once by the global setup (Machine.saveState through installer-state.ts),
// restored the way every reusing run restores it: its control shell adopted, its clock set,
// this run's new disks plugged in; two restores never see each other; a state that does not
// load is a RestoreError (the rehearsal then boots the ISO, see rehearsal.test.ts).
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { INSTALLER_PROMPT, RestoreError, startInstaller } from '../../src/installer.js';
import { egressRelay } from '../../src/egress/command.js';
import { timeoutScale } from '../../src/qemu/accel.js';
import { testLogDir } from '../helpers/paths.js';
import { savedInstaller } from '../helpers/shared.js';

const fx = inject('fixture');

const restore = (name: string, disks: Array<{ id: string; serial: string; size: string }>, state = savedInstaller(), network?: 'nat' | 'none' | 'public', egress?: { command: string[] }) =>
  startInstaller({ name, iso: fx.iso, accel: state.accel, timeoutScale: timeoutScale(state.accel), disks, restore: state, logDir: testLogDir(name), network, egress });

/**
 * A TCP service on this host's loopback only, as a runner's local services are: what the guest
 * sends to it through 10.0.2.2 (QEMU's user network maps that address to the host's loopback).
 */
async function loopbackService(address = '127.0.0.1'): Promise<{ port: number; received: () => string; close: () => void }> {
  let got = '';
  const server = net.createServer((c) => c.on('data', (d) => (got += d.toString())).on('error', () => {}));
  await new Promise<void>((r) => server.listen(0, address, () => r()));
  return { port: (server.address() as net.AddressInfo).port, received: () => got, close: () => server.close() };
}
/** The guest sends `token` to the host's loopback service (bash's /dev/tcp), bounded in time. */
const sendFromGuest = (port: number, token: string) => `timeout 20 bash -c 'echo ${token} >/dev/tcp/10.0.2.2/${port}'`;
/**
 * The guest asks the run's proxy (10.0.2.100:3128) for a tunnel to `target` (bash's /dev/tcp,
 * no client needed), prints the proxy's answer, and sends `token` through when it is a 200.
 */
const connectFromGuest = (target: string, token: string) =>
  `timeout 30 bash -c 'exec 3<>/dev/tcp/10.0.2.100/3128; printf "CONNECT ${target} HTTP/1.1\\r\\nHost: ${target}\\r\\n\\r\\n" >&3; IFS= read -r status <&3; echo "$status"; case "$status" in *" 200 "*) echo ${token} >&3; sleep 1 ;; *) cat <&3 ;; esac'`;

describe('the saved installer', () => {
  it('was saved from a real boot of the ISO through its own boot menu, to the nixos autologin', () => {
    const s = savedInstaller();
    const boot = readFileSync(s.bootSerialLog!, 'utf8');
    expect(boot).toContain('<<< Welcome to NixOS 25.11 (x86_64) - ttyS0 >>>');
    expect(boot).toMatch(/nixos login: nixos \(automatic login\)/);
    expect(boot).toMatch(INSTALLER_PROMPT);
    // The 25.11 menu's first entry, the release's full version in its title (iso-image.nix).
    expect(s.bootEntry).toMatch(/^NixOS 25\.11\.\d{8}\.[0-9a-f]{7} Installer \(Linux LTS\)$/);
    expect(s.slots).toBeGreaterThanOrEqual(2);
  });

  it('restores with its root control shell, today’s clock, and this run’s disks plugged in', async () => {
    const { machine: m, restoredFrom } = await restore('restore-a', [
      { id: 'disk0', serial: 'SNAPA0', size: '3G' },
      { id: 'disk1', serial: 'SNAPA1', size: '5G' },
    ]);
    try {
      expect(restoredFrom).toBe(savedInstaller().dir);
      // The serial console's history is the saved boot's: a failure's boot stage and serial tail read it.
      expect(m.serialTail(400)).toMatch(/nixos login: nixos \(automatic login\)[\s\S]*the serial console above is the saved VM's/);
      expect((await m.succeed('id -u')).trim()).toBe('0');
      expect((await m.succeed('hostid')).trim()).toBe(fx.hostId);
      const guestNow = Number((await m.succeed('date +%s')).trim());
      expect(Math.abs(guestNow - Date.now() / 1000)).toBeLessThan(120);
      const lsblk = await m.succeed('lsblk -dn -o NAME,SIZE,SERIAL /dev/nvme0n1 /dev/nvme1n1');
      expect(lsblk).toMatch(/^nvme0n1\s+3G\s+SNAPA0$/m);
      expect(lsblk).toMatch(/^nvme1n1\s+5G\s+SNAPA1$/m);
      expect(await m.succeed('ls /dev/disk/by-id')).toMatch(/nvme-QEMU_NVMe_Ctrl_SNAPA1/);
      // The disks are usable: a pool on both (the runbook's Task 6, abbreviated).
      await m.succeed('sgdisk -n1:0:0 -t1:BF01 /dev/nvme0n1 && sgdisk -n1:0:0 -t1:BF01 /dev/nvme1n1 && zpool create -f -o ashift=12 -O mountpoint=none tpool mirror /dev/nvme0n1p1 /dev/nvme1n1p1');
      expect(await m.succeed('zpool status -x tpool')).toMatch(/pool 'tpool' is healthy/);
      await m.succeed('echo from-restore-a > /tmp/marker');
      // The default network (nat, what a real install needs): the guest reaches the outside and,
      // QEMU's user network having no way to exclude it, the host's loopback too (#15 item 12).
      const svc = await loopbackService();
      try {
        expect((await m.run(sendFromGuest(svc.port, 'token-nat'), 60)).exitCode).toBe(0);
        await new Promise((r) => setTimeout(r, 500));
        expect(svc.received()).toBe('token-nat\n');
      } finally {
        svc.close();
      }
    } finally {
      await m.stop();
    }
  });

  it('a second restore starts from the saved state again: nothing of the first; with network none the guest reaches nothing of the host', async () => {
    const { machine: m } = await restore('restore-b', [{ id: 'disk0', serial: 'SNAPB0', size: '2G' }], savedInstaller(), 'none');
    try {
      // network none (restrict=on: --network none, the fixture's runs): the host's loopback
      // service is out of reach, while the NIC keeps its address.
      const svc = await loopbackService();
      try {
        expect((await m.run(sendFromGuest(svc.port, 'token-none'), 60)).exitCode).not.toBe(0);
        await new Promise((r) => setTimeout(r, 500));
        expect(svc.received()).toBe('');
      } finally {
        svc.close();
      }
      expect(await m.succeed('ip -4 -o addr show')).toMatch(/10\.0\.2\.15\/24/);
      expect((await m.run('cat /tmp/marker')).exitCode).not.toBe(0);
      expect((await m.run('zpool list tpool')).exitCode).not.toBe(0);
      expect(await m.succeed('lsblk -dn -o SERIAL')).toMatch(/^SNAPB0$/m);
    } finally {
      await m.stop();
    }
  });

  it('with network public (--network internet) the guest reaches the host only through the proxy, which refuses its loopback and lets an allowed address through, logging each', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'nixos-rehearse-egress-'));
    const log = path.join(dir, 'egress.log');
    const refused = await loopbackService('127.0.0.1');
    const allowed = await loopbackService('127.0.0.2');
    const { machine: m } = await restore('restore-public', [], savedInstaller(), 'public', egressRelay(log, ['127.0.0.2']));
    try {
      // Directly: restrict=on, nothing of the host (what --network internet allowed before).
      expect((await m.run(sendFromGuest(refused.port, 'token-direct'), 60)).exitCode).not.toBe(0);
      // Through the proxy: the runner's loopback is refused with the reason, and never reached.
      const no = await m.run(connectFromGuest(`127.0.0.1:${refused.port}`, 'token-refused'), 60);
      expect(no.output).toMatch(/^HTTP\/1\.1 403 Forbidden\r?$/m);
      expect(no.output).toContain(`127.0.0.1 is not on the public internet (127.0.0.1: loopback (127.0.0.0/8))`);
      // An address the user allowed (--network-allow 127.0.0.2): tunnelled, the token arrives.
      const yes = await m.run(connectFromGuest(`127.0.0.2:${allowed.port}`, 'token-allowed'), 60);
      expect(yes.output).toMatch(/^HTTP\/1\.1 200 Connection established\r?$/m);
      await new Promise((r) => setTimeout(r, 500));
      expect(refused.received()).toBe('');
      expect(allowed.received()).toBe('token-allowed\n');
      const entries = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { verdict: string; host: string });
      expect(entries.map((e) => [e.host, e.verdict])).toEqual([['127.0.0.1', 'refused'], ['127.0.0.2', 'allowed']]);
      expect(await m.succeed('ip -4 -o addr show')).toMatch(/10\.0\.2\.15\/24/);
    } finally {
      await m.stop();
      refused.close();
      allowed.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a state that does not load is a RestoreError naming it, and leaves no QEMU behind', async () => {
    const s = savedInstaller();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'nixos-rehearse-bad-state-'));
    try {
      const bad = { ...s, dir, state: path.join(dir, 'state.zst'), efiVars: path.join(dir, 'efivars.fd') };
      copyFileSync(s.efiVars, bad.efiVars);
      writeFileSync(bad.state, readFileSync(s.state).subarray(0, 4096));
      const err = await restore('restore-bad', [], bad).catch((e: Error) => e);
      expect(err).toBeInstanceOf(RestoreError);
      expect((err as RestoreError).stateDir).toBe(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
