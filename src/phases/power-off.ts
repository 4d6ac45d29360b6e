// Phase: unmount /mnt, export the pool, power the installer off. After a green install, or a red
// one whose disks are kept (--keep); a red install's disks are thrown away with the run, and a
// clean power-off (tens of seconds under TCG) is not worth it then. A green install can be kept
// for later runs (--keep-installed): the run goes on over overlays.
import path from 'node:path';
import { RehearseError } from '../errors.js';
import { rootKind } from '../roots/index.js';
import { overlayDisks, saveInstall } from '../saved-install.js';
import type { Phase, PhaseContext } from './types.js';

function keepInstalled(ctx: PhaseContext, dir: string): Promise<void> {
  const target = path.resolve(dir);
  saveInstall(dir, ctx.workDir, {
    schema: 1, layout: ctx.layout.name, flake: ctx.o.flake, host: ctx.flake.host,
    disks: ctx.disks.map((d) => ({ ...d, file: path.join(target, `${d.id}.qcow2`) })),
    efiVars: path.join(target, 'efivars.fd'),
    toplevel: ctx.installed.toplevel, espPartuuids: ctx.installed.espPartuuids, injected: ctx.rec.report.injected, vmHardware: ctx.installed.vmHardware,
    sshPublicKey: ctx.installed.sshPublicKey, sshPrivateKeyFile: path.join(target, 'id_ed25519'),
    isoSha256: ctx.iso.sha256, savedAt: new Date().toISOString(),
  }, path.join(ctx.keyDir, 'id_ed25519'));
  ctx.rec.info(`  the installed system is kept in ${dir}; this run goes on over overlays`);
  return overlayDisks(ctx.workDir, ctx.disks.map((d) => path.join(target, `${d.id}.qcow2`)));
}

export const powerOffPhase: Phase = {
  id: 'power-off',
  title: 'Unmount, export the pool, power off',
  when: (ctx, failed) => !!ctx.vm && (!failed || ctx.keepDisks),
  async run(ctx) {
    const m = ctx.vm!;
    if (!(await m.alive())) throw new RehearseError('qemu-exited', `QEMU exited during the install (${m.exitStatus}): the VM is gone`, { during: 'install', exit: String(m.exitStatus) });
    // After an early failure there may be nothing mounted and no pool: that is not an error.
    // Then what the root kind does before a power-off (ZFS: export the pool).
    const r = await m.run(['if mountpoint -q /mnt; then sudo umount -R /mnt; fi', ...rootKind(ctx.layout).powerOff(ctx.layout.root)].join(' && '), 300);
    if (r.exitCode !== 0) ctx.rec.info(`  ${r.output.trim()}`);
    if (ctx.fault.beforePowerOff) ctx.disks = await ctx.fault.beforePowerOff(m, ctx.disks);
    // --no-wall: systemd's wall message would land on every tty, the control console included.
    await m.shutdown(180, 'sudo systemctl poweroff --no-block --no-wall');
    await m.stop();
    const installed = r.exitCode === 0 && ctx.rec.installStepsPassed;
    if (installed && ctx.saveTo && !ctx.o.fault) await keepInstalled(ctx, ctx.saveTo);
    return r.exitCode === 0;
  },
};
