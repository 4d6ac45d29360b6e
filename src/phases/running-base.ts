// The running, verified base (upgrade/running-base.ts): kept once a kept install has passed its
// checks (keep-running-base), and resumed by a later upgrade run instead of booting the base
// (resume-base). The run that keeps it goes on from the state it just saved, so every kept
// state has loaded once before any later run relies on it; one that does not load is dropped.
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { timeoutScale } from '../qemu/accel.js';
import { Machine } from '../qemu/machine.js';
import { TCG_CPU_MODEL } from '../qemu/spec.js';
import { qemuBinary, toolVersion } from '../qemu/tools.js';
import { createDisk } from '../qemu/disks.js';
import { moveFile, readSavedInstall, writeSavedInstall } from '../saved-install.js';
import { RUNNING_BASE_FORMAT, RUNNING_DIR, type RunningBase, runningMachineKey } from '../upgrade/running-base.js';
import { bootInstalled } from './installed-vm.js';
import type { Phase, PhaseContext } from './types.js';

/** The VM shape this run's machines have: what a kept state must have been saved by. */
export async function machineKeyFor(ctx: PhaseContext): Promise<string> {
  const v = await toolVersion(qemuBinary());
  return runningMachineKey({ qemuVersion: v.ok ? v.version : 'unknown', cpuModel: ctx.accel.accel === 'kvm' ? 'host' : TCG_CPU_MODEL, memoryMiB: ctx.memoryMiB, cpus: ctx.cpus, accel: ctx.accel.accel });
}

/** This run's disks anew: qcow2 overlays in the work dir over `backing` (id → image). */
async function overlayOver(ctx: PhaseContext, backing: (id: string) => string): Promise<void> {
  for (const d of ctx.disks) {
    const file = path.join(ctx.workDir, `${d.id}.qcow2`);
    rmSync(file, { force: true });
    await createDisk(file, undefined, backing(d.id));
  }
}

/** Loads a running base into a new machine over overlays of its disks; its clock set to now. */
export async function resumeRunning(ctx: PhaseContext, r: RunningBase): Promise<Machine> {
  await overlayOver(ctx, (id) => r.disks.find((d) => d.id === id)!.file);
  const m = await Machine.create({
    name: 'installed',
    accel: ctx.accel.accel,
    timeoutScale: timeoutScale(ctx.accel.accel),
    memoryMiB: ctx.memoryMiB,
    cpus: ctx.cpus,
    disks: ctx.disks,
    workDir: ctx.workDir,
    keep: true,
    sshHostPort: 'auto',
    network: ctx.network,
    logDir: ctx.logDir,
    restore: { state: r.state, efiVars: r.efiVars, serialLog: r.serialLog },
  });
  ctx.vm = m;
  await m.start();
  // The saved clock is the save's: now, for file times and the generation the upgrade makes.
  await m.succeed(`date -u -s @${Math.floor(Date.now() / 1000)} >/dev/null`);
  return m;
}

/**
 * Saves the running base into `<kept install>/running/` and records it in installed.json; the
 * machine is powered off by the save. Its disks (this run's overlays over the kept install)
 * move there; the run goes on over new overlays over them.
 */
async function saveRunning(ctx: PhaseContext, m: Machine, dir: string, bootSeconds: number): Promise<RunningBase> {
  const rdir = path.join(dir, RUNNING_DIR);
  rmSync(rdir, { recursive: true, force: true });
  mkdirSync(rdir, { recursive: true });
  const serialLog = path.join(rdir, 'serial.log');
  writeFileSync(serialLog, m.serialTail(100_000));
  const r: RunningBase = {
    format: RUNNING_BASE_FORMAT,
    machineKey: await machineKeyFor(ctx),
    state: path.join(rdir, 'state.zst'),
    efiVars: path.join(rdir, 'efivars.fd'),
    serialLog,
    disks: ctx.disks.map((d) => ({ ...d, file: path.join(rdir, `${d.id}.qcow2`) })),
    toplevel: ctx.installed.toplevel,
    savedAt: new Date().toISOString(),
    bootSeconds,
  };
  await m.saveState(r.state, r.efiVars, { withDisks: true });
  for (const d of r.disks) moveFile(path.join(ctx.workDir, `${d.id}.qcow2`), d.file);
  return r;
}

/** How long the reboot phase (the boot a running base spares) took in this run. */
const bootSecondsOf = (ctx: PhaseContext) => (ctx.rec.report.phases.find((p) => p.id === 'reboot')?.durationMs ?? 0) / 1000;

/**
 * After the checks of a kept install passed: keep it running for later upgrade runs, then go on
 * from what was kept. Never fails the run: a state that cannot be saved or loaded is dropped,
 * saying so, and the run goes on from a fresh boot of its disks.
 */
export const keepRunningBasePhase: Phase = {
  id: 'keep-running-base',
  title: 'Keep the running, verified base for later upgrade runs (RAM, CPUs and disks at one instant), and go on from it',
  when: (ctx, failed) => !failed && !!ctx.saveTo && !ctx.resume && !ctx.o.fault && !ctx.rec.anyCheckFailed && !!ctx.vm?.isRunning && existsSync(path.join(ctx.saveTo, 'installed.json')),
  async run(ctx) {
    const dir = ctx.saveTo!;
    const t0 = Date.now();
    try {
      const r = await saveRunning(ctx, ctx.vm!, dir, bootSecondsOf(ctx));
      const saved = (Date.now() - t0) / 1000;
      await resumeRunning(ctx, r);
      writeSavedInstall(dir, { ...readSavedInstall(dir), running: r });
      ctx.rec.info(`  the running base is kept in ${path.join(dir, RUNNING_DIR)} (saved in ${saved.toFixed(1)} s, resumed in ${((Date.now() - t0) / 1000 - saved).toFixed(1)} s); this run goes on from it`);
    } catch (e) {
      rmSync(path.join(dir, RUNNING_DIR), { recursive: true, force: true });
      ctx.rec.info(`  the running base could not be kept (${(e as Error).message.split('\n')[0]}): later runs boot the base; this run boots it again`);
      await ctx.vm?.stop();
      await overlayOver(ctx, (id) => path.join(dir, `${id}.qcow2`));
      await bootInstalled(ctx, 'installed');
    }
    return true;
  },
};

/**
 * A warm upgrade run: the cached base resumed where its checks ended, no boot. A state that does
 * not load (another QEMU build, a damaged file) is removed from the cache and the base booted
 * from its disks instead, saying so: it can cost time, never the verdict.
 */
export const resumeBasePhase: Phase = {
  id: 'resume-base',
  title: 'Resume the running, verified base where its checks ended (no boot)',
  // Always "passes": a fallback leaves the boot to the reboot phase after it.
  when: (ctx, failed) => !failed && !!ctx.resume,
  async run(ctx) {
    const r = ctx.resume!;
    const dir = path.dirname(path.dirname(r.state));
    try {
      const m = await resumeRunning(ctx, r);
      ctx.rec.set({ base: { ...ctx.rec.report.base!, resumedFrom: path.dirname(r.state) } });
      if (ctx.fault.resumed) {
        const changed = await ctx.fault.resumed(m, ctx.disks);
        ctx.disks = changed.disks;
        ctx.rec.set({ fault: { id: ctx.o.fault!, what: changed.what } });
      }
    } catch (e) {
      await ctx.vm?.stop();
      ctx.vm = undefined;
      rmSync(path.dirname(r.state), { recursive: true, force: true });
      const saved = readSavedInstall(dir);
      writeSavedInstall(dir, { ...saved, running: undefined });
      ctx.rec.info(`  the running base in ${path.dirname(r.state)} did not load (${(e as Error).message.split('\n')[0]}): it is discarded, and the base booted from its disks`);
      // The reboot phase, next, boots the kept install as a run without a running base does.
      ctx.resume = undefined;
      await overlayOver(ctx, (id) => saved.disks.find((d) => d.id === id)!.file);
      copyFileSync(saved.efiVars, path.join(ctx.workDir, 'efivars.fd'));
      const changed = ctx.fault.keptDisks?.(ctx.disks);
      if (changed) {
        ctx.disks = changed.disks;
        ctx.rec.set({ fault: { id: ctx.o.fault!, what: changed.what } });
      }
    }
    return true;
  },
};
