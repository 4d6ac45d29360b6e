// The running base (upgrade/running-base.ts): a warm upgrade run resumes it only when it loads
// into this VM shape and holds this run's disks; otherwise it boots the kept install, saying why.
// And a cached base whose running disk is damaged is discarded as a whole (real qemu-img check).
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execaSync } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { qemuImgBinary } from '../../src/qemu/tools.js';
import type { SavedInstall } from '../../src/saved-install.js';
import { usableBase } from '../../src/upgrade/base-cache.js';
import { RUNNING_BASE_FORMAT, type RunningBase, resumeDecision, runningMachineKey } from '../../src/upgrade/running-base.js';

const shape = { qemuVersion: '10.0.2', cpuModel: 'qemu64,+ssse3', memoryMiB: 3072, cpus: 2, accel: 'tcg' };
const disks = [{ id: 'disk0', serial: 'NRAAAAD0' }, { id: 'disk1', serial: 'NRAAAAD1' }];
const toplevel = '/nix/store/0c1mjl5kmnnv4b3szsgk1qx0q4xrz3hk-nixos-system-server-25.11.20251130.abcdef0';
const running: RunningBase = { format: RUNNING_BASE_FORMAT, machineKey: runningMachineKey(shape), state: '/c/running/state.zst', efiVars: '/c/running/efivars.fd', serialLog: '/c/running/serial.log', disks: disks.map((d) => ({ ...d, file: `/c/running/${d.id}.qcow2` })), toplevel, savedAt: '2026-12-02T08:00:00Z' };
const saved: SavedInstall = { schema: 1, layout: 'zfs-mirror', flake: '/f#server', host: 'server', disks: disks.map((d) => ({ ...d, file: `/c/${d.id}.qcow2` })), efiVars: '/c/efivars.fd', toplevel, espPartuuids: [], injected: [], vmHardware: '', sshPublicKey: '', sshPrivateKeyFile: '', savedAt: '', running };
const want: { mode: 'install' | 'upgrade'; machineKey: string; disks: typeof disks } = { mode: 'upgrade', machineKey: runningMachineKey(shape), disks };

describe('runningMachineKey', () => {
  it('changes with QEMU, the CPU model, memory, CPUs and the accelerator, and nothing else', () => {
    const k = runningMachineKey(shape);
    expect(runningMachineKey({ ...shape })).toBe(k);
    for (const other of [{ qemuVersion: '10.1.0' }, { cpuModel: 'host' }, { memoryMiB: 4096 }, { cpus: 4 }, { accel: 'kvm' }]) expect(runningMachineKey({ ...shape, ...other })).not.toBe(k);
  });
});

describe('resumeDecision', () => {
  it('resumes the running base of a kept install in upgrade mode, same shape, same disks', () => {
    expect(resumeDecision(saved, want)).toEqual({ resume: true, running });
  });
  it('boots the kept install, saying why, in every other case', () => {
    const why = (s: SavedInstall, w = want) => {
      const d = resumeDecision(s, w);
      return d.resume ? 'resumed' : d.why;
    };
    expect(why(saved, { ...want, mode: 'install' })).toMatch(/install mode boots the installed system itself/);
    expect(why({ ...saved, running: undefined })).toMatch(/no running base was kept/);
    expect(why({ ...saved, running: { ...running, format: RUNNING_BASE_FORMAT + 1 } })).toMatch(/format/);
    expect(why(saved, { ...want, machineKey: runningMachineKey({ ...shape, qemuVersion: '9.2.0' }) })).toMatch(/another QEMU or VM shape/);
    expect(why({ ...saved, toplevel: `${toplevel}x` })).toMatch(/runs another system/);
    expect(why(saved, { ...want, disks: disks.slice(0, 1) })).toMatch(/other disks \(disk0\) than its running base holds \(disk0, disk1\)/);
    expect(why(saved, { ...want, disks: [disks[0]!, { id: 'disk1', serial: 'OTHER' }] })).toMatch(/other disks/);
  });
});

describe('a cached base with a running base', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'nr-running-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const entry = (name: string) => {
    const dir = path.join(root, name);
    mkdirSync(path.join(dir, 'running'), { recursive: true });
    const disk = path.join(dir, 'disk0.qcow2');
    const top = path.join(dir, 'running', 'disk0.qcow2');
    execaSync(qemuImgBinary(), ['create', '-q', '-f', 'qcow2', disk, '64M']);
    execaSync(qemuImgBinary(), ['create', '-q', '-f', 'qcow2', '-b', disk, '-F', 'qcow2', top]);
    for (const f of ['efivars.fd', 'running/efivars.fd', 'running/state.zst', 'running/serial.log']) writeFileSync(path.join(dir, f), 'x');
    const r: RunningBase = { ...running, state: path.join(dir, 'running/state.zst'), efiVars: path.join(dir, 'running/efivars.fd'), serialLog: path.join(dir, 'running/serial.log'), disks: [{ id: 'disk0', serial: 'S', file: top }] };
    writeFileSync(path.join(dir, 'installed.json'), JSON.stringify({ ...saved, disks: [{ id: 'disk0', serial: 'S', file: disk }], efiVars: path.join(dir, 'efivars.fd'), running: r }));
    return { dir, top };
  };

  it('is used when its running disk is sound', async () => {
    const { dir } = entry('sound');
    expect(await usableBase(dir)).toEqual({ ok: true });
  });

  it('is discarded when its running disk is damaged: a fresh install, never a boot of a torn image', async () => {
    const { dir, top } = entry('damaged');
    const fd = openSync(top, 'r+');
    writeSync(fd, Buffer.alloc(64, 0xff), 0, 64, 40);
    closeSync(fd);
    const u = await usableBase(dir);
    expect(!u.ok && u.why).toMatch(/running|disk0\.qcow2|Could not open/);
    expect(existsSync(dir)).toBe(false);
  });

  it('is discarded when its saved state is gone, saying which file', async () => {
    const { dir } = entry('no-state');
    rmSync(path.join(dir, 'running', 'state.zst'));
    const u = await usableBase(dir);
    expect(!u.ok && u.why).toMatch(/running base's state\.zst is missing/);
  });
});
