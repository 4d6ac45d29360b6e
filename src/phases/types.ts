// What every phase module sees (PhaseContext) and what it is ({ id, title, run }). The
// pipeline (rehearsal.ts) runs phases in order under one time limit each, records them through
// the recorder, and handles failures and teardown in one place; a phase does its own work only.
import type { FaultHooks } from '../faults.js';
import type { Machine } from '../qemu/machine.js';
import type { Accel } from '../qemu/spec.js';
import type { Recorder } from '../recorder.js';
import type { Layout } from '../runbook/layouts.js';
import type { PlanContext } from '../runbook/plan.js';
import type { RehearsalOptions } from '../options.js';

export interface DiskId {
  id: string;
  serial: string;
}

/** What the install hands to the installed system's phases (or a kept install does). */
export interface InstalledFacts {
  /** The store path nixos-install installed (system-1-link). */
  toplevel: string;
  /** PARTUUIDs of the ESPs, lower case. */
  espPartuuids: string[];
  /** vm-hardware.nix as injected at install time: the rebuild writes the same one. */
  vmHardware: string;
  sshPublicKey: string;
  sshPrivateKeyFile: string;
}

export interface PhaseContext {
  readonly o: RehearsalOptions;
  readonly rec: Recorder;
  readonly layout: Layout;
  /** The configuration installed (in upgrade mode: the base). */
  readonly flake: { dir: string; host: string };
  /** What the rebuild switches to: the configuration under test in upgrade mode, else `flake` again. */
  readonly target: { dir: string; host: string };
  readonly mode: 'install' | 'upgrade';
  readonly iso: { path: string; sha256?: string };
  readonly accel: { accel: Accel; timeoutScale: number };
  readonly workDir: string;
  readonly logDir: string;
  readonly cacheDir: string;
  readonly keyDir: string;
  /** The disks outlive the run (--keep, or a work directory of the caller's). */
  readonly keepDisks: boolean;
  readonly memoryMiB: number;
  readonly cpus: number;
  /** What the VMs may reach (RehearsalOptions.network), as QEMU's NIC takes it. */
  readonly network: 'none' | 'public';
  /** With network `public`: the relay QEMU runs per proxied connection (MachineSpec.egress). */
  readonly egress?: { command: string[] };
  readonly fault: FaultHooks;
  /** The disks QEMU is given: the same for the installer and the installed system. */
  disks: DiskId[];
  readonly plan: PlanContext;
  /** The VM running now (the installer, then the installed system). */
  vm?: Machine;
  /** Where the install, powered off, is kept for later runs (--keep-installed, or upgrade mode's cached base). */
  saveTo?: string;
  /** Upgrade mode started from this cached base (upgrade/base-cache.ts). */
  cachedBase?: string;
  /** What the installed system's phases need; set by the install (or from a kept install). */
  installed: InstalledFacts;
}

export interface Phase {
  id: string;
  title: string;
  /**
   * Whether it runs, given what ran before (`failed`: an earlier phase failed). By default a
   * phase runs only while nothing has failed.
   */
  when?(ctx: PhaseContext, failed: boolean): boolean;
  /** A failure here is recorded but the pipeline goes on (the verify phase: every check runs). */
  continueOnFailure?: boolean | ((ctx: PhaseContext) => boolean);
  /** true: the phase passed; false: it failed (its steps or checks say why). Throws on an error. */
  run(ctx: PhaseContext): Promise<boolean>;
}
