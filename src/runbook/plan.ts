// The runbook's Tasks 1–13 (../shared/seed/nixos-25.11-install-runbook.txt) as the plan the
// engine executes against a booted installer: one named step per Task, with its commands (the
// runbook's own, for the layout), the check of their output that the runbook's "What it means"
// describes, and the runbook's "Decision" as the failure message. Pure: the runner
// (phases/install.ts) runs the commands and hands the outputs back.
import type { Layout, Mount } from './layouts.js';
import { parseHardwareConfig, parseLsblkJson, parseMountLines, parseSgdiskPrint } from './parsers.js';
import { type RootContext, type RootConfig, rootKind } from '../roots/index.js';
import { part } from '../roots/shared.js';
import { NIX } from '../verify/parsers.js';
import { splitFlakeRef } from '../flake.js';
import { DECISIONS } from '../diagnosis/runbook-text.js';
import { type Field, RehearseError } from '../errors.js';

export interface PlanContext {
  layout: Layout;
  /** Serials of the disks the engine created, in disk order. */
  serials: string[];
  /** Guest device of each, resolved from its serial by Task 2 (never assumed from a name). */
  disks: string[];
  /** The flake reference installed: `<dir in the guest>#<host>`. */
  flakeRef: string;
}

export interface Step {
  id: string;
  task: number;
  title: string;
  /** The runbook's Decision for this Task: what to do when the check fails. */
  decision: string;
  /** True when a command writes to a disk: the wrong-disk guard must have passed before. */
  writes: boolean;
  commands(ctx: PlanContext): string[];
  /** Problems seen in the outputs (one per command, same order); [] means the step passed. */
  check?(outputs: string[], ctx: PlanContext): string[];
}

/** Partition N of a disk (src/roots/shared.ts). */
export { part };
const esp = (ctx: PlanContext) => part(ctx.disks[0]!, 1);
const data = (ctx: PlanContext) => part(ctx.disks[0]!, 2);
/** What the layout's root kind module (src/roots/<kind>.ts) is given for Tasks 6 and 7. */
const rootCtx = (ctx: PlanContext): RootContext<RootConfig> => ({ root: ctx.layout.root, disks: ctx.disks });

function source(m: Mount, ctx: PlanContext): string {
  if (m.source === '{esp}') return esp(ctx);
  if (m.source === '{data}') return data(ctx);
  return m.source;
}

/** Task 8's commands for a layout: mount in order, creating mount points under /mnt. */
function mountCommands(ctx: PlanContext): string[] {
  const out: string[] = [];
  const k = rootKind(ctx.layout);
  for (const m of ctx.layout.mounts) {
    const target = m.at === '/' ? '/mnt' : `/mnt${m.at}`;
    if (m.at !== '/') out.push(`sudo mkdir -p ${target}`);
    const type = m.fsType === k.fsType && k.mountNeedsType ? `-t ${k.fsType} ` : '';
    const opts = m.options ? `-o ${m.options} ` : '';
    out.push(`sudo mount ${type}${opts}${source(m, ctx)} ${target}`);
  }
  return out;
}

/**
 * Task 2's guard, pure: maps each engine serial to its guest device. Refuses (throws) when a
 * serial is missing or seen twice, so that no later step can touch a disk the engine did not
 * create.
 */
export function resolveDisks(lsblkJson: string, serials: string[]): string[] {
  const devs = parseLsblkJson(lsblkJson).filter((d) => d.type === 'disk');
  return serials.map((s) => {
    const hits = devs.filter((d) => d.serial === s);
    if (hits.length !== 1) {
      const seen = devs.map((d) => `${d.name}${d.serial ? ` (serial ${d.serial})` : ''}`).join(', ') || 'none';
      throw new WrongDiskError(
        `wrong-disk guard: the disk the engine created with serial ${s} is ${hits.length ? 'not unique' : 'not visible'} in the installer (disks seen: ${seen}). Nothing was written. Only disks whose serial the engine assigned are ever touched; check that the VM got the disks it was given.`,
        { serial: s, seen, matches: hits.length },
      );
    }
    return `/dev/${hits[0]!.name}`;
  });
}

/** The wrong-disk guard refused: a disk the engine made is not (uniquely) visible in the guest. Nothing was written. */
export class WrongDiskError extends RehearseError {
  constructor(message: string, fields: Record<string, Field> = {}) {
    super('wrong-disk', message, fields);
    this.name = 'WrongDiskError';
  }
}

export const STEPS: Step[] = [
  {
    id: 'task-01-uefi',
    task: 1,
    title: 'Confirm you booted in UEFI mode',
    decision: DECISIONS.task1.text,
    writes: false,
    commands: () => ['ls /sys/firmware/efi'],
    check: ([o]) => (/\befivars\b/.test(o ?? '') ? [] : ['/sys/firmware/efi has no efivars: this is not a UEFI boot']),
  },
  {
    id: 'task-02-disks',
    task: 2,
    title: 'Identify disks and their topology',
    decision: `${DECISIONS.task2.text} Check you’re not about to nuke the wrong disk: only the disks the rehearsal created (by serial) are targets.`,
    writes: false,
    commands: () => ['lsblk -o NAME,SIZE,TYPE,MODEL,SERIAL,FSTYPE,MOUNTPOINTS', 'lsblk -J -d -o NAME,SERIAL,TYPE,SIZE,MODEL'],
    check: ([, json], ctx) => {
      try {
        ctx.disks = resolveDisks(json ?? '', ctx.serials);
        return [];
      } catch (e) {
        return [(e as Error).message];
      }
    },
  },
  {
    id: 'task-03-partition-table',
    task: 3,
    title: 'Sanity-check existing partition tables',
    decision: DECISIONS.task3.text,
    writes: false,
    commands: (ctx) => ctx.disks.map((d) => `sudo sgdisk -p ${d}`),
  },
  {
    id: 'task-04-partition',
    task: 4,
    title: 'Partition the disk(s): GPT, a 1 GiB ESP and the data partition',
    decision: DECISIONS.task4.text,
    writes: true,
    commands: (ctx) => [
      ...ctx.disks.flatMap((d) => [
        `sudo sgdisk --zap-all ${d}`,
        `sudo sgdisk -n1:1M:+1G -t1:EF00 -c1:"EFI System" ${d}`,
        `sudo sgdisk -n2:0:0 -t2:${ctx.layout.dataPartition.code} -c2:"${ctx.layout.dataPartition.name}" ${d}`,
      ]),
      ...ctx.disks.map((d) => `sudo sgdisk -p ${d}`),
    ],
    check: (outs, ctx) => {
      const problems: string[] = [];
      outs.slice(-ctx.disks.length).forEach((o, i) => {
        const parts = parseSgdiskPrint(o).partitions;
        const p1 = parts.find((p) => p.number === 1);
        const p2 = parts.find((p) => p.number === 2);
        if (p1?.code !== 'EF00') problems.push(`${ctx.disks[i]}: partition 1 is ${p1 ? p1.code : 'missing'}, not EF00 (EFI System)`);
        if (p2?.code !== ctx.layout.dataPartition.code) problems.push(`${ctx.disks[i]}: partition 2 is ${p2 ? p2.code : 'missing'}, not ${ctx.layout.dataPartition.code}`);
      });
      return problems;
    },
  },
  {
    id: 'task-05-esp',
    task: 5,
    title: 'Format the EFI System Partition',
    decision: DECISIONS.task5.text,
    writes: true,
    commands: (ctx) => [...ctx.disks.map((d) => `sudo mkfs.fat -F 32 -n EFI ${part(d, 1)}`), ...ctx.disks.map((d) => `sudo blkid -o export ${part(d, 1)}`)],
    check: (outs, ctx) =>
      outs.slice(-ctx.disks.length).flatMap((o, i) => (/^TYPE=vfat$/m.test(o) && /^LABEL=EFI$/m.test(o) ? [] : [`${part(ctx.disks[i]!, 1)} is not a FAT file system labelled EFI`])),
  },
  {
    id: 'task-06-root-filesystem',
    task: 6,
    title: 'Create the ZFS pool (or the ext4/Btrfs root file system)',
    decision: DECISIONS.task6.text,
    writes: true,
    commands: (ctx) => rootKind(ctx.layout).create.commands(rootCtx(ctx)),
    check: (outs, ctx) => rootKind(ctx.layout).create.check(outs, rootCtx(ctx)),
  },
  {
    id: 'task-07-datasets',
    task: 7,
    title: 'Create datasets (root, nix store, persistent state) or Btrfs subvolumes',
    decision: DECISIONS.task7.text,
    writes: true,
    commands: (ctx) => rootKind(ctx.layout).layout.commands(rootCtx(ctx)),
    check: (outs, ctx) => rootKind(ctx.layout).layout.check(outs, rootCtx(ctx)),
  },
  {
    id: 'task-08-mount',
    task: 8,
    title: 'Mount filesystems for installation',
    decision: DECISIONS.task8.text,
    writes: true,
    commands: (ctx) => [...mountCommands(ctx), 'mount'],
    check: (outs, ctx) => {
      const mounts = parseMountLines(outs[outs.length - 1] ?? '');
      const problems: string[] = [];
      for (const m of ctx.layout.mounts) {
        const target = m.at === '/' ? '/mnt' : `/mnt${m.at}`;
        const seen = mounts.filter((x) => x.target === target).pop();
        if (!seen) problems.push(`${target} is not mounted`);
        else if (seen.fsType !== m.fsType) problems.push(`${target} is ${seen.fsType}, not ${m.fsType}`);
        else if (m.at === '/boot' && seen.source !== esp(ctx)) problems.push(`/mnt/boot is ${seen.source}, not the ESP ${esp(ctx)}`);
      }
      return problems;
    },
  },
  {
    id: 'task-09-generate-config',
    task: 9,
    title: 'Generate the initial configuration',
    decision: DECISIONS.task9.text,
    writes: true,
    commands: () => ['sudo nixos-generate-config --root /mnt'],
    check: ([o]) => (/writing \/mnt\/etc\/nixos\/hardware-configuration\.nix/.test(o ?? '') ? [] : ['nixos-generate-config did not write /mnt/etc/nixos/hardware-configuration.nix']),
  },
  {
    id: 'task-10-hardware-config',
    task: 10,
    title: 'Validate that the mounts are reflected in the hardware config',
    decision: DECISIONS.task10.text,
    writes: false,
    commands: (ctx) => ["sudo sed -n '1,200p' /mnt/etc/nixos/hardware-configuration.nix", `sudo blkid -s UUID -o value ${esp(ctx)}`, `sudo blkid -s UUID -o value ${data(ctx)}`],
    check: ([hwText, espUuid, dataUuid], ctx) => {
      const hw = parseHardwareConfig(hwText ?? '');
      const k = rootKind(ctx.layout);
      const problems: string[] = [];
      for (const m of ctx.layout.mounts) {
        const fs = hw.fileSystems[m.at];
        if (!fs) {
          problems.push(`hardware-configuration.nix has no fileSystems."${m.at}"`);
          continue;
        }
        if (fs.fsType !== m.fsType) problems.push(`fileSystems."${m.at}" has fsType ${fs.fsType}, not ${m.fsType}`);
        // The root's mounts by name where its kind says so (ZFS datasets), else by UUID.
        const byName = m.fsType === k.fsType ? k.devicesByName : undefined;
        const want =
          byName ? m.source : m.source === '{esp}' ? `/dev/disk/by-uuid/${(espUuid ?? '').trim()}` : `/dev/disk/by-uuid/${(dataUuid ?? '').trim()}`;
        if (fs.device !== want) problems.push(`fileSystems."${m.at}" has device ${fs.device}, expected ${want} (${byName ?? 'by UUID'})`);
        if (m.options && !fs.options.includes(m.options)) problems.push(`fileSystems."${m.at}" lacks options "${m.options}"`);
      }
      // NixOS derives boot.supportedFilesystems from each fileSystems' fsType; an explicit list
      // (the runbook's hardware config shows one) must include the one the kind names (zfs).
      const fsName = k.supportedFilesystem;
      if (fsName && hw.supportedFilesystems.length && !hw.supportedFilesystems.includes(fsName)) {
        problems.push(`boot.supportedFilesystems does not include "${fsName}"`);
      }
      return problems;
    },
  },
  {
    id: 'task-11-preflight',
    task: 11,
    title: 'Preflight the build before installation',
    // nixos-install has no --dry-run (nixpkgs pkgs/by-name/ni/nixos-install/nixos-install.sh):
    // evaluate and dry-build the toplevel with nix instead, into the target's store as
    // nixos-install does (`--store "$mountPoint"`): the live ISO's own store is a tmpfs in RAM,
    // and a real flake's inputs (nixpkgs) fetched there would eat the memory the install needs.
    // With nixos-install's `--extra-substituters "auto?trusted=1"`: what the installer's own store
    // already holds (the ISO's paths, a flake input fetched before) is copied, not fetched again.
    decision: DECISIONS.task11.text,
    writes: false,
    commands: (ctx) => {
      const [dir, host] = splitFlakeRef(ctx.flakeRef);
      return [`sudo ${NIX} build --dry-run --no-link --store /mnt --extra-substituters 'auto?trusted=1' '${dir}#nixosConfigurations."${host}".config.system.build.toplevel'`];
    },
  },
  {
    id: 'task-12-install',
    task: 12,
    title: 'Install and set up the system',
    decision: DECISIONS.task12.text,
    writes: true,
    commands: (ctx) => [`sudo nixos-install --root /mnt --no-root-passwd --flake ${ctx.flakeRef}`],
    check: ([o]) => {
      const p: string[] = [];
      if (!/installation finished!/.test(o ?? '')) p.push('nixos-install did not print "installation finished!"');
      // The boot loader's refusal can scroll by above a final success line: nixpkgs'
      // systemd-boot builder's mount point check (systemd-boot.nix checkMountpoints), or
      // bootctl's (systemd src/shared/find-esp.c).
      const esp = /^.*(?:is not a mounted partition\. Is the path configured correctly\?|is not a FAT EFI System Partition).*$/m.exec(o ?? '');
      if (esp) p.push(`the boot loader install failed: ${esp[0].trim()}`);
      return p;
    },
  },
  {
    id: 'task-13-boot-entries',
    task: 13,
    title: 'Before reboot, verify boot entries exist',
    decision: DECISIONS.task13.text,
    writes: false,
    commands: () => ['sudo ls -la /mnt/boot/loader/entries | head', 'cat /mnt/boot/loader/loader.conf', 'readlink /mnt/nix/var/nix/profiles/system-1-link'],
    check: ([ls, loader, top]) => {
      const p: string[] = [];
      if (!/nixos-generation-1\.conf/.test(ls ?? '')) p.push('/mnt/boot/loader/entries has no nixos-generation-1.conf');
      if (!/^default nixos-generation-1\.conf$/m.test(loader ?? '')) p.push('loader.conf does not default to nixos-generation-1.conf');
      if (!/^\/nix\/store\/\S+-nixos-system-\S+$/.test((top ?? '').trim())) p.push('/mnt/nix/var/nix/profiles/system-1-link does not point at a system in the store');
      return p;
    },
  },
];

/** Re-exported from flake.ts, the one parser of flake references. */
export { splitFlakeRef };
