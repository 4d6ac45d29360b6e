// A booted installer, saved once and restored by every later run: the installer ISO booted to
// its ready prompt with a root control shell and no disks, its RAM, CPUs and devices saved with
// Machine.saveState(), keyed by everything that determines it. A run restores it in seconds and
// plugs its own new disks in (Machine.hotplugDisk()), instead of booting the ISO for tens of
// seconds (minutes under a slow TCG). The same mechanism keeps the booted installer between
// local runs (`run --reuse-installer`) and lets the test suite boot the installer once.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type IsoBoot, isoBoot } from './iso/iso.js';
import { GuestGaveUpError } from './errors.js';
import { reachInstallerShell } from './installer.js';
import { Machine } from './qemu/machine.js';
import { type Accel, TCG_CPU_MODEL } from './qemu/spec.js';
import { qemuBinary, toolVersion } from './qemu/tools.js';
import { processAlive } from './leftovers.js';

/** Bumped whenever what a saved installer holds, or how it is made, changes. */
export const INSTALLER_STATE_FORMAT = 3; // 2: the NIC has an explicit MAC (argv.ts); 3: the TCG CPU model without BMI2 (spec.ts)
/** Empty root ports a saved installer has for the disks a run plugs in (layouts use up to 2). */
export const INSTALLER_SLOTS = 4;

export interface InstallerStateKeyInput {
  isoSha256: string;
  memoryMiB: number;
  cpus: number;
  accel: Accel;
  qemuVersion: string;
  /** The CPU model QEMU gives the guest (a state only loads into the same one). */
  cpuModel: string;
  /** The kernel command line the installer was booted with (from the ISO's own grub.cfg). */
  append: string;
}

/** The cache key of a saved installer: a hash of everything that makes it; pure. */
export function installerStateKey(k: InstallerStateKeyInput): string {
  const text = JSON.stringify({ format: INSTALLER_STATE_FORMAT, slots: INSTALLER_SLOTS, ...k });
  return createHash('sha256').update(text).digest('hex').slice(0, 24);
}

export interface InstallerState {
  dir: string;
  key: string;
  /** zstd-compressed QEMU state (Machine.saveState). */
  state: string;
  efiVars: string;
  slots: number;
  memoryMiB: number;
  cpus: number;
  accel: Accel;
  isoSha256: string;
  bootEntry: string;
  append: string;
  createdAt: string;
  /** How long the boot it saves took. */
  bootSeconds: number;
  /** The serial console of that boot (the grub entry, the kernel, the autologin). */
  bootSerialLog?: string;
}

export interface InstallerStateOptions {
  iso: string;
  isoSha256: string;
  memoryMiB: number;
  cpus: number;
  accel: Accel;
  timeoutScale: number;
  /** Where saved installers live: <cacheDir>/installer-states/<key>/. */
  cacheDir: string;
  logDir: string;
  log?: (line: string) => void;
}

export function installerStatesDir(cacheDir: string): string {
  return path.join(cacheDir, 'installer-states');
}

async function keyFor(o: InstallerStateOptions, boot: IsoBoot): Promise<string> {
  const v = await toolVersion(qemuBinary());
  return installerStateKey({ isoSha256: o.isoSha256, memoryMiB: o.memoryMiB, cpus: o.cpus, accel: o.accel, qemuVersion: v.ok ? v.version : 'unknown', cpuModel: o.accel === 'kvm' ? 'host' : TCG_CPU_MODEL, append: boot.append ?? '' });
}

/**
 * A saved installer that is complete (its manifest is written last), or undefined. Its files are
 * found beside the manifest wherever the directory is now (a cache restored elsewhere).
 */
export function readInstallerState(dir: string): InstallerState | undefined {
  try {
    const read = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as InstallerState;
    const m: InstallerState = { ...read, dir, state: path.join(dir, 'state.zst'), efiVars: path.join(dir, 'efivars.fd'), bootSerialLog: path.join(dir, 'boot-serial.log') };
    if (!existsSync(m.state) || statSync(m.state).size === 0 || !existsSync(m.efiVars)) return undefined;
    return m;
  } catch {
    return undefined;
  }
}

/**
 * The saved installer for this ISO and VM shape: taken from the cache, or made now (the ISO
 * booted once, through its own boot menu's installer entry, then saved). Concurrent makers do
 * not clash: each saves into its own directory and the first rename wins.
 */
export async function installerState(o: InstallerStateOptions): Promise<InstallerState> {
  const log = o.log ?? (() => {});
  const root = installerStatesDir(o.cacheDir);
  mkdirSync(root, { recursive: true });
  const tmp = path.join(root, `.new-${process.pid}-${randomBytes(4).toString('hex')}`);
  mkdirSync(tmp);
  try {
    const boot = await isoBoot(o.iso, path.join(tmp, 'iso-boot'));
    const key = await keyFor(o, boot);
    const dir = path.join(root, key);
    const have = readInstallerState(dir);
    if (have) return have;
    rmSync(dir, { recursive: true, force: true }); // an incomplete one
    log(`  booting the installer once to save it for later runs (${dir})`);
    let bootSeconds: number;
    try {
      bootSeconds = await bootAndSave(o, boot, tmp);
    } catch (e) {
      // A boot that gave up is tried once more (a guest kernel oops under TCG has been seen
      // here: "Oops: int3" in sched_clock_cpu, then a panic); a second one is the ISO's problem.
      if (!(e instanceof GuestGaveUpError)) throw e;
      log(`  the installer's boot gave up (${e.message}); booting it once more`);
      rmSync(path.join(tmp, 'vm'), { recursive: true, force: true });
      bootSeconds = await bootAndSave(o, boot, tmp);
    }
    rmSync(path.join(tmp, 'vm'), { recursive: true, force: true });
    const final = (f: string) => path.join(dir, f);
    const manifest: InstallerState = {
      dir,
      key,
      state: final('state.zst'),
      efiVars: final('efivars.fd'),
      slots: INSTALLER_SLOTS,
      memoryMiB: o.memoryMiB,
      cpus: o.cpus,
      accel: o.accel,
      isoSha256: o.isoSha256,
      bootEntry: boot.entry.title,
      append: boot.append ?? '',
      createdAt: new Date().toISOString(),
      bootSeconds,
      bootSerialLog: final('boot-serial.log'),
    };
    writeFileSync(path.join(tmp, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    try {
      renameSync(tmp, dir);
    } catch (e) {
      // Another run saved the same installer first: use theirs.
      const theirs = readInstallerState(dir);
      if (theirs) return theirs;
      throw e;
    }
    log(`  installer saved after a ${bootSeconds.toFixed(1)} s boot`);
    pruneInstallerStates(o.cacheDir, KEEP_STATES);
    return manifest;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Saved installers kept in a cache (about 100 MiB each): the most recently made. */
export const KEEP_STATES = 4;

/** Removes all but the `keep` newest saved installers (and leftovers of interrupted saves). */
export function pruneInstallerStates(cacheDir: string, keep: number): void {
  const root = installerStatesDir(cacheDir);
  if (!existsSync(root)) return;
  const entries = readdirSync(root).map((n) => ({ n, p: path.join(root, n), t: statSync(path.join(root, n)).mtimeMs }));
  // An interrupted save of another process that is gone (its pid in the name).
  for (const e of entries.filter((x) => x.n.startsWith('.new-'))) {
    const pid = Number(e.n.split('-')[1]);
    if (pid && !processAlive(pid)) rmSync(e.p, { recursive: true, force: true });
  }
  const done = entries.filter((x) => !x.n.startsWith('.')).sort((a, b) => b.t - a.t);
  for (const e of done.slice(keep)) rmSync(e.p, { recursive: true, force: true });
}


/** Removes a saved installer that could not be restored (a later run makes it anew). */
export function discardInstallerState(s: InstallerState): void {
  rmSync(s.dir, { recursive: true, force: true });
}

/**
 * Boots the ISO's menu entry to the installer's prompt and saves the VM in `tmp`; the boot's
 * seconds. A boot that gives up (a panic, stage 1's fail(), emergency mode) ends at once.
 */
async function bootAndSave(o: InstallerStateOptions, boot: IsoBoot, tmp: string): Promise<number> {
  const t0 = Date.now();
  const m = await Machine.create({
    name: 'installer-save',
    accel: o.accel,
    timeoutScale: o.timeoutScale,
    memoryMiB: o.memoryMiB,
    cpus: o.cpus,
    iso: { path: o.iso },
    kernelBoot: { kernel: boot.kernel, initrd: boot.initrd, append: boot.append },
    hotplugSlots: INSTALLER_SLOTS,
    workDir: path.join(tmp, 'vm'),
    logDir: o.logDir,
  });
  try {
    await m.start();
    await reachInstallerShell(m);
    const bootSeconds = (Date.now() - t0) / 1000;
    writeFileSync(path.join(tmp, 'boot-serial.log'), m.serialTail(100_000));
    await m.saveState(path.join(tmp, 'state.zst'), path.join(tmp, 'efivars.fd'));
    return bootSeconds;
  } finally {
    await m.stop();
  }
}
