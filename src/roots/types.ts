// What a root kind (ZFS, ext4, Btrfs, ...) is to the rest of the code: the runbook's Tasks 6–8
// for it, the hardware config it leads to (Task 10), its Task 15 health check, its question in
// the fast diagnosis playbook and what the power-off does for it. One module per kind
// (src/roots/<kind>.ts), after cross-platform-actions' src/operating_systems/<os>/; the rest of
// the code asks the module (src/roots/index.ts rootKind) and never compares a kind with a name.
// Pure: commands as strings, checks and verdicts as functions of what the guest printed.
import type { PlaybookStep } from '../diagnosis/playbook.js';
import type { Check } from '../verify/checks.js';

/** What a kind's step commands and checks know: its layout's root config and the guest devices of the disks (Task 2). */
export interface RootContext<R> {
  root: R;
  /** Guest devices of the disks, in disk order; partition 2 of each is the data partition (Task 4). */
  disks: readonly string[];
}

/** One step's share that depends on the kind: its commands, and the check of their outputs (one per command). */
export interface RootStep<R> {
  commands(ctx: RootContext<R>): string[];
  /** Problems seen in the outputs; [] means the step passed. */
  check(outputs: string[], ctx: RootContext<R>): string[];
}

export interface RootKind<R extends { kind: string } = { kind: string }> {
  kind: R['kind'];
  title: string;
  /** The fsType of its mounts: what `mount` shows (Task 8) and hardware-configuration.nix says (Task 10). */
  fsType: string;
  /** Task 6: create the pool or the file system on the data partition(s). */
  create: RootStep<R>;
  /** Task 7: datasets or subvolumes (or nothing, on a single file system). */
  layout: RootStep<R>;
  /** Task 8: its mounts need `mount -t <fsType>` (a dataset name is no device mount can probe). */
  mountNeedsType: boolean;
  /**
   * Task 10: set when nixos-generate-config names its mounts' devices by their mount source (ZFS
   * datasets), not by the data partition's UUID; the words a problem gives as the reason.
   */
  devicesByName?: string;
  /** Task 10: a file system an explicit boot.supportedFilesystems must name. */
  supportedFilesystem?: string;
  /** Task 15's place on the installed system: the guest command (run as root) and its verdict. */
  health: { read: string; verdict(out: string, exitCode: number): Check };
  /** The fast diagnosis playbook's storage question for it. */
  playbookStorage: PlaybookStep;
  /** Run after `umount -R /mnt`, before the installer powers off (each tolerates nothing to do). */
  powerOff(root: R): string[];
}
