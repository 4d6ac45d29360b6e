// Starting from an installed system kept by an earlier run (--from-installed): no installer, no
// install; its disks under copy-on-write overlays, its EFI variables and key, then the installed
// system's phases as usual.
import { chmodSync, copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { RehearseError } from '../errors.js';
import { createDisk } from '../qemu/disks.js';
import { readSavedInstall } from '../saved-install.js';
import type { PhaseContext } from './types.js';

export async function fromInstalled(ctx: PhaseContext, dir: string): Promise<void> {
  const saved = readSavedInstall(dir);
  if (saved.layout !== ctx.layout.name) throw new RehearseError('input', `${dir} holds a ${saved.layout} install, not ${ctx.layout.name}`, { dir, kept: saved.layout, asked: ctx.layout.name });
  if (saved.host !== ctx.flake.host) throw new RehearseError('input', `${dir} holds an install of host ${saved.host}, not ${ctx.flake.host}`, { dir, kept: saved.host, asked: ctx.flake.host });
  ctx.rec.set({ installedFrom: dir, injected: saved.injected });
  mkdirSync(ctx.workDir, { recursive: true });
  for (const d of saved.disks) await createDisk(path.join(ctx.workDir, `${d.id}.qcow2`), undefined, d.file);
  copyFileSync(saved.efiVars, path.join(ctx.workDir, 'efivars.fd'));
  // ssh refuses a private key others can read: this run's copy, 0600.
  const key = path.join(ctx.keyDir, 'installed_ed25519');
  copyFileSync(saved.sshPrivateKeyFile, key);
  chmodSync(key, 0o600);
  ctx.disks = saved.disks.map((d) => ({ id: d.id, serial: d.serial }));
  const changed = ctx.fault.keptDisks?.(ctx.disks);
  if (changed) {
    ctx.disks = changed.disks;
    ctx.rec.set({ fault: { id: ctx.o.fault!, what: changed.what } });
  }
  ctx.installed = {
    toplevel: saved.toplevel,
    espPartuuids: saved.espPartuuids,
    vmHardware: saved.vmHardware,
    sshPublicKey: saved.sshPublicKey,
    sshPrivateKeyFile: key,
  };
  ctx.rec.info(`  starting from the installed system kept in ${dir} (${saved.savedAt})`);
}
