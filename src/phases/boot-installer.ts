// Phase: boot the installer ISO (or restore the installer saved in the cache).
import { RestoreError, startInstaller } from '../installer.js';
import { discardInstallerState, installerState } from '../installer-state.js';
import { sha256File } from '../iso/source.js';
import { useEgressProxy } from './installed-vm.js';
import type { Phase, PhaseContext } from './types.js';

type Started = Awaited<ReturnType<typeof startInstaller>>;

function common(ctx: PhaseContext) {
  return {
    name: 'installer',
    iso: ctx.iso.path,
    accel: ctx.accel.accel,
    timeoutScale: ctx.accel.timeoutScale,
    memoryMiB: ctx.memoryMiB,
    cpus: ctx.cpus,
    network: ctx.network,
    egress: ctx.egress,
    // No bootindex: the direct kernel boot holds 0.
    disks: ctx.disks.map((d) => ({ ...d, size: ctx.o.diskSize ?? '20G' })),
    workDir: ctx.workDir,
    logDir: ctx.logDir,
    keep: true,
  };
}

/** The installer saved in the cache, restored with this run's disks; undefined when it does not load. */
async function restored(ctx: PhaseContext): Promise<Started | undefined> {
  const c = common(ctx);
  const state = await installerState({ iso: ctx.iso.path, isoSha256: ctx.iso.sha256 ?? (await sha256File(ctx.iso.path)), memoryMiB: c.memoryMiB, cpus: c.cpus, accel: c.accel, timeoutScale: c.timeoutScale, cacheDir: ctx.cacheDir, logDir: ctx.logDir, log: (l) => ctx.rec.info(l) });
  try {
    const inst = await startInstaller({ ...c, restore: state });
    ctx.rec.set({ iso: { ...ctx.rec.report.iso, restoredFrom: state.dir } });
    ctx.rec.info(`  restored the installer saved on ${state.createdAt} (${state.dir}); disks plugged in: ${ctx.disks.map((d) => d.serial).join(', ')}`);
    return inst;
  } catch (e) {
    if (!(e instanceof RestoreError)) throw e;
    // A saved installer that does not load is never trusted again: boot the ISO.
    ctx.rec.info(`  ${e.message}; it is discarded and the ISO booted instead`);
    discardInstallerState(state);
    return undefined;
  }
}

export const bootInstallerPhase: Phase = {
  id: 'boot-installer',
  title: 'Boot the installer ISO',
  async run(ctx) {
    const reuse = ctx.o.reuseInstaller && !ctx.fault.inBoot;
    if (ctx.o.reuseInstaller && ctx.fault.inBoot) ctx.rec.info(`  not reusing a saved installer: the fault ${ctx.o.fault} is in the boot itself`);
    const inst =
      (reuse ? await restored(ctx) : undefined) ??
      (await startInstaller({
        ...common(ctx),
        extraAppend: ctx.fault.installerAppend ?? [],
        onStarted: ctx.fault.installerStarted ? (m) => ctx.fault.installerStarted!(m) : undefined,
      }));
    ctx.vm = inst.machine;
    await useEgressProxy(ctx, inst.machine);
    ctx.rec.set({ iso: { ...ctx.rec.report.iso, bootEntry: inst.boot.entry.title } });
    ctx.rec.info(`  booted '${inst.boot.entry.title}' (${inst.boot.append})`);
    return true;
  },
};
