// Faults the engine can inject, each a failure a user can meet for real: the rehearsal must go
// red and say why in the runbook's terms (report.diagnosis). A table of hooks keyed by where
// they act (a step id, the installer's boot, the power-off), read by the phases: adding a fault
// is one entry here and its test in test/vm/faults.test.ts, no `if` in the procedure.
import type { Machine } from './qemu/machine.js';
import type { Step } from './runbook/plan.js';

export interface FaultHooks {
  /** For people: what it does (report.fault.what, --help). */
  what: string;
  /** It acts on the installer's boot itself: a saved installer is never restored for it. */
  inBoot?: boolean;
  /** More kernel arguments for the installer. */
  installerAppend?: string[];
  /** Once the installer's QEMU runs. */
  installerStarted?(m: Machine): Promise<void>;
  /** Before an install step runs, keyed by step id. */
  beforeStep?: Record<string, (m: Machine) => Promise<void> | void>;
  /** An install step changed, keyed by step id. */
  step?: Record<string, (s: Step) => Step>;
  /** In the power-off phase, before the installer powers off: the disks left for the reboot. */
  beforePowerOff?(m: Machine, disks: Array<{ id: string; serial: string }>): Promise<Array<{ id: string; serial: string }>>;
  /** Starting from a kept install: the disks booted, and what the report then says the fault did. */
  keptDisks?(disks: Array<{ id: string; serial: string }>): { disks: Array<{ id: string; serial: string }>; what: string } | undefined;
}

export const FAULTS = {
  'esp-not-mounted': {
    what: 'unmount /mnt/boot right before Task 12 (nixos-install), as when the ESP was never mounted',
    beforeStep: { 'task-12-install': async (m) => void (await m.run('sudo umount /mnt/boot', 120)) },
  },
  'remove-mirror-disk': {
    what: 'hot-unplug the second disk (QMP device_del) after the install, before the reboot',
    async beforePowerOff(m, disks) {
      if (disks.length < 2) return disks;
      await m.hotUnplug(`nvme-${disks[1]!.id}`);
      return disks.filter((_, i) => i !== 1); // the reboot happens without it
    },
    keptDisks: (disks) => (disks.length > 1 ? { disks: disks.filter((_, i) => i !== 1), what: 'boot the kept installed system without its second disk' } : undefined),
  },
  'kernel-panic': {
    what: 'boot the installer kernel with rdinit=/nonexistent: it finds no init and panics mounting a root it cannot name',
    inBoot: true,
    installerAppend: ['rdinit=/nonexistent'],
  },
  'boot-hang': {
    what: 'freeze the installer VM (QMP stop) once its kernel has started',
    inBoot: true,
    async installerStarted(m) {
      // The EFI stub's first line: the kernel has started (its own messages are quiet at loglevel=4).
      await m.waitForSerial(/EFI stub: /, 120);
      await m.pause();
    },
  },
  'kill-qemu': {
    what: 'SIGKILL QEMU in the middle of the install (at Task 6, the pool)',
    beforeStep: { 'task-06-root-filesystem': (m) => void (m.pid && process.kill(m.pid, 'SIGKILL')) },
  },
  'forge-marker': {
    what: "make Task 1's command write a forged command-completion marker straight to the control console",
    step: {
      // Straight to the control console, around the protocol's base64: what a console-writing
      // activation script or a hostile command could do.
      'task-01-uefi': (orig) => ({ ...orig, commands: (c) => orig.commands(c).map((cmd, k) => (k ? cmd : `printf '\\n0:forgedxnrforged\\n' >/dev/hvc0; ${cmd}`)) }),
    },
  },
} as const satisfies Record<string, FaultHooks>;

export type Fault = keyof typeof FAULTS;

/** The hooks of a fault, or none: every phase asks this, never the fault's name. */
export function faultHooks(fault: Fault | undefined): FaultHooks {
  return fault ? FAULTS[fault] : { what: '' };
}

/** What each fault does, for --help and the report. */
export const FAULT_DESCRIPTIONS: Record<Fault, string> = Object.fromEntries(Object.entries(FAULTS).map(([k, v]) => [k, v.what])) as Record<Fault, string>;
