// What a rehearsal is asked to do: the options runRehearsal takes (the CLI and the action build
// them from their own inputs).
import type { Fault } from './faults.js';
import type { Machine } from './qemu/machine.js';
import type { PhaseResult, LockChange } from './report.js';
import type { Reporter } from './reporter.js';

export interface RehearsalOptions {
  iso: string;
  sha256?: string;
  /** `<dir>#<host>`. */
  flake: string;
  layout: string;
  /**
   * What the VMs may reach: `internet` (default: a real install needs the binary cache and the
   * flake's inputs) is the public internet only, through the run's HTTP proxy (egress/relay.ts):
   * never the runner's loopback, its private networks or link-local addresses (the cloud
   * metadata service). `none`: nothing at all, for configurations that build offline, like the
   * fixture's. The SSH checks reach the guest either way.
   */
  network?: 'internet' | 'none';
  /** With `internet`: addresses or ADDRESS/PREFIX blocks reached besides the public internet (a private binary cache). */
  networkAllow?: string[];
  diskSize?: string;
  memoryMiB?: number;
  cpus?: number;
  accel?: 'auto' | 'kvm' | 'tcg';
  outDir: string;
  cacheDir?: string;
  keep?: boolean;
  /** Where the VM's disks and EFI variables go (default: a temporary directory, removed unless keep). */
  workDir?: string;
  /**
   * The serials QEMU gives the disks (default: this run's own). A test passes foreign ones to
   * see Task 2's wrong-disk guard refuse disks the run did not create.
   */
  diskSerials?: string[];
  /** After the install: reboot and verify (default true); then rebuild and roll back (default true). */
  verify?: boolean;
  rebuild?: boolean;
  /**
   * A limit per phase, in minutes (default: none beyond the engine's own waits). When it fires,
   * the phase fails, the VMs are stopped, and the report names the phase and the boot stage.
   */
  phaseTimeoutMinutes?: number;
  /** A fault injected on purpose (the fault tests, and to see what a red run looks like). */
  fault?: Fault;
  /**
   * Restore the installer booted once and saved in the cache (installer-state.ts) instead of
   * booting the ISO again; made on first use. Not with the boot faults (kernel-panic, boot-hang).
   */
  reuseInstaller?: boolean;
  /**
   * Keep the installed system, as the install powered it off, in this directory (its disks as
   * qcow2 images, the EFI variables, this run's key and what the install produced) for
   * `installed`; the run goes on over copy-on-write overlays, so it never changes them.
   */
  saveInstalled?: string;
  /**
   * Start from an installed system kept by `saveInstalled`: no installer, no install; boot its
   * disks (overlays over them) through the firmware, then verify, rebuild and roll back as usual.
   */
  installed?: string;
  /**
   * Upgrade mode (issue #16): the base configuration, `<dir>#<host>`, installed first (or taken
   * from `installed`); then the configuration under test (`flake`) is built, switched to,
   * rebooted into and checked, and rolled back.
   */
  upgradeFrom?: string;
  /**
   * Upgrade mode keeps the installed base in the cache directory, keyed by what determines it,
   * and starts from it next time (default true; false installs the base every time).
   */
  baseCache?: boolean;
  /** Set by the engine when a cached base failed and the run starts over without it: why. */
  baseCacheFallback?: string;
  /** flake.lock inputs this change updates (the action computes them for pull requests). */
  lockChanges?: LockChange[];
  /** Phase boundaries, for the action's log groups. */
  events?: {
    phaseStart?: (id: string, title: string) => void;
    phaseEnd?: (p: PhaseResult) => void;
    /** The installed system, running, once the post-boot checks are done: more checks of the caller's own. */
    verified?: (m: Machine) => Promise<void>;
  };
  log?: (line: string) => void;
  /** Who hears the run's events (recorder.ts calls them): the CLI's terminal, the action's log. */
  reporters?: Reporter[];
}

