// The running, verified base (issue #16 item 3, "a snapshot of the running, verified base
// system"): once a kept install (upgrade mode's cached base, or --keep-installed) has booted and
// passed every post-boot check, its whole state — RAM, CPUs, devices, and its disks at that same
// instant (Machine.saveState withDisks) — is kept beside the powered-off install, in `running/`.
// A later upgrade run resumes it in seconds instead of booting the base through the firmware:
// it spends its time only on the pull request's own work. What it holds is recorded in
// installed.json (`running`); a state only loads into the same QEMU and VM shape, so that is in
// its key, and a state that does not load is discarded and the base booted instead, saying so.
import { createHash } from 'node:crypto';
import type { SavedInstall } from '../saved-install.js';

/** Bumped whenever what a running base holds, or how it is made, changes. */
export const RUNNING_BASE_FORMAT = 1;

/** Where in a kept install the running base lives. */
export const RUNNING_DIR = 'running';

export interface RunningBase {
  format: number;
  /** What the state loads into (runningMachineKey): the same QEMU, CPU model, memory, CPUs, accelerator. */
  machineKey: string;
  /** zstd-compressed QEMU state (Machine.saveState). */
  state: string;
  efiVars: string;
  /** The serial console of the boot it spares, up to the save. */
  serialLog: string;
  /** The disks at the save: qcow2 overlays over the kept install's disks, in the same order. */
  disks: Array<{ id: string; serial: string; file: string }>;
  /** The system it runs (generation 1, the base). */
  toplevel: string;
  savedAt: string;
  /** How long the boot it spares took in the run that saved it. */
  bootSeconds?: number;
}

export interface RunningMachineKeyInput {
  qemuVersion: string;
  cpuModel: string;
  memoryMiB: number;
  cpus: number;
  accel: string;
}

/** The key of the VM shape a running base loads into (pure). */
export function runningMachineKey(k: RunningMachineKeyInput): string {
  const text = JSON.stringify({ format: RUNNING_BASE_FORMAT, qemuVersion: k.qemuVersion, cpuModel: k.cpuModel, memoryMiB: k.memoryMiB, cpus: k.cpus, accel: k.accel });
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

export type ResumeDecision = { resume: true; running: RunningBase } | { resume: false; why: string };

/**
 * Whether a run resumes the kept install's running base rather than booting its disks (pure):
 * only in upgrade mode (install mode rehearses the reboot itself), only with one that exists,
 * was saved by this QEMU and VM shape, and holds the disks this run boots.
 */
export function resumeDecision(saved: SavedInstall, want: { mode: 'install' | 'upgrade'; machineKey: string; disks: ReadonlyArray<{ id: string; serial: string }> }): ResumeDecision {
  const r = saved.running;
  if (want.mode !== 'upgrade') return { resume: false, why: 'install mode boots the installed system itself' };
  if (!r) return { resume: false, why: 'no running base was kept with it' };
  if (r.format !== RUNNING_BASE_FORMAT) return { resume: false, why: `its running base has format ${r.format}, this version reads ${RUNNING_BASE_FORMAT}` };
  if (r.machineKey !== want.machineKey) return { resume: false, why: 'its running base was saved by another QEMU or VM shape (memory, CPUs, accelerator)' };
  if (r.toplevel !== saved.toplevel) return { resume: false, why: 'its running base runs another system than the kept install' };
  const same = r.disks.length === want.disks.length && r.disks.every((d, i) => d.id === want.disks[i]!.id && d.serial === want.disks[i]!.serial);
  if (!same) return { resume: false, why: `this run boots other disks (${want.disks.map((d) => d.id).join(', ') || 'none'}) than its running base holds (${r.disks.map((d) => d.id).join(', ')})` };
  return { resume: true, running: r };
}
