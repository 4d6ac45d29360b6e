// ZFS root: the runbook's own layout (Tasks 6–8 as written, ../shared/seed/nixos-25.11-install-runbook.txt).
import type { PlaybookStep } from '../diagnosis/playbook.js';
import { parseColumns, parseZpoolStatus, zpoolProblems } from '../runbook/parsers.js';
import { checkPoolHealth } from '../verify/checks.js';
import { part, props } from './shared.js';
import type { RootKind } from './types.js';

export interface ZfsRoot {
  kind: 'zfs';
  pool: string;
  /** `zpool create` pool properties (-o) and root file system properties (-O), Task 6. */
  poolProperties: Record<string, string>;
  fsProperties: Record<string, string>;
  vdev: 'single' | 'mirror';
  /** Task 7, in creation order. */
  datasets: Array<{ name: string; properties: Record<string, string> }>;
}

/** The fast diagnosis playbook's storage question as the runbook writes it. */
export const STORAGE_ZFS: PlaybookStep = {
  id: 'storage',
  title: 'Storage health',
  command: 'zpool status',
  decision: 'If ZFS is degraded, your priority is device availability and data safety. Performance debugging can wait.',
  runbook: 'Fast diagnosis playbook: storage health',
};

export const zfs: RootKind<ZfsRoot> = {
  kind: 'zfs',
  title: 'ZFS pool with datasets',
  fsType: 'zfs',
  create: {
    commands: ({ root: r, disks }) => {
      const vdevs = disks.map((d) => part(d, 2)).join(' ');
      return [
        `sudo zpool create -f ${props('-o', r.poolProperties)} ${props('-O', r.fsProperties)} ${r.pool} ${r.vdev === 'mirror' ? 'mirror ' : ''}${vdevs}`,
        `sudo zpool status ${r.pool}`,
      ];
    },
    check: (outs, { root: r, disks }) => {
      const pool = parseZpoolStatus(outs[outs.length - 1] ?? '').find((p) => p.pool === r.pool);
      if (!pool) return [`zpool status shows no pool ${r.pool}`];
      const problems = zpoolProblems(pool);
      const want = disks.map((d) => part(d, 2).replace('/dev/', ''));
      for (const w of want) if (!pool.devices.some((d) => d.name === w)) problems.push(`${w} is not in pool ${r.pool}`);
      if (r.vdev === 'mirror' && !pool.devices.some((d) => /^mirror-\d+$/.test(d.name))) problems.push(`pool ${r.pool} has no mirror vdev`);
      return problems;
    },
  },
  layout: {
    commands: ({ root: r }) => [...r.datasets.map((d) => `sudo zfs create ${props('-o', d.properties)} ${d.name}`), 'sudo zfs list -o name,mountpoint,compression'],
    check: (outs, { root: r }) => {
      const rows = parseColumns(outs[outs.length - 1] ?? '', ['name', 'mountpoint', 'compression']);
      const problems: string[] = [];
      for (const d of [{ name: r.pool, properties: { mountpoint: 'none' } as Record<string, string> }, ...r.datasets]) {
        const row = rows.find((x) => x.name === d.name);
        if (!row) problems.push(`dataset ${d.name} is missing`);
        else {
          if (d.properties.mountpoint && row.mountpoint !== d.properties.mountpoint) problems.push(`${d.name} has mountpoint ${row.mountpoint}, not ${d.properties.mountpoint}`);
          if (row.compression !== r.fsProperties.compression) problems.push(`${d.name} has compression ${row.compression}, not ${r.fsProperties.compression}`);
        }
      }
      return problems;
    },
  },
  mountNeedsType: true,
  devicesByName: 'ZFS datasets by name',
  // NixOS derives boot.supportedFilesystems from each fileSystems' fsType; an explicit list (the
  // runbook's hardware config shows one) must include zfs when it exists.
  supportedFilesystem: 'zfs',
  // `zpool status -x`: its text counts, not its exit code (checkPoolHealth).
  health: { read: 'zpool status -x', verdict: (out) => checkPoolHealth(out) },
  playbookStorage: STORAGE_ZFS,
  // An exported pool is one the installed system can import at boot without -f.
  powerOff: (r) => [`if sudo zpool list ${r.pool} >/dev/null 2>&1; then sudo zpool export ${r.pool}; fi`],
};
