// The runbook's "Fast diagnosis playbook" as data: the commands an operator runs, in the
// runbook's order ("First: confirm what changed", "Second: is it boot, storage, network, or
// service?", "Third: find the bottleneck"), each with the runbook's Decision. Pure: the engine
// runs them in the guest after a failure and puts each answer in report.playbook
// (PlaybookOutput, src/report.ts); diagnosis/rules.ts reads them back.
//
// The runbook prefixes `zpool status` with sudo; the engine's control shell is already root, so
// the commands here carry none.

import { type RootKindName, rootKindNamed } from '../roots/index.js';
import { STORAGE_ZFS } from '../roots/zfs.js';

export type PlaybookId = 'what-is-running' | 'boot' | 'storage' | 'network' | 'services' | 'bottleneck';

export interface PlaybookStep {
  id: PlaybookId;
  title: string;
  command: string;
  /** The runbook's Decision for what the command shows. */
  decision: string;
  /** Where it comes from, e.g. `Fast diagnosis playbook: storage health`. */
  runbook: string;
}

const WHAT_IS_RUNNING: PlaybookStep = {
  id: 'what-is-running',
  title: 'First: confirm what changed (is the running system the one you think it is?)',
  command: 'readlink /run/current-system',
  decision: 'If the store path isn’t the expected one, stop guessing. Align the team on “what is running.”',
  runbook: 'Fast diagnosis playbook: first, confirm what changed',
};

const BOOT: PlaybookStep = {
  id: 'boot',
  title: 'Boot and initrd issues',
  command: 'journalctl -b -p err --no-pager | tail -n 20',
  decision: 'If mounts fail, you have a filesystem/dataset/mount ordering issue. Don’t chase app logs yet.',
  runbook: 'Fast diagnosis playbook: boot and initrd issues',
};

// The storage step is the root kind's (src/roots/<kind>.ts playbookStorage): the runbook's
// `zpool status` on ZFS (STORAGE_ZFS), df on ext4 and Btrfs.

const NETWORK: PlaybookStep = {
  id: 'network',
  title: 'Network reachability',
  command: 'ip -br a',
  decision: 'If the interface isn’t UP or has no address, fix network config before you blame DNS, TLS, or applications.',
  runbook: 'Fast diagnosis playbook: network reachability',
};

const SERVICES: PlaybookStep = {
  id: 'services',
  title: 'Service health',
  command: 'systemctl --failed --no-pager',
  decision: 'Failed units tell you where to focus. Read the unit logs; don’t restart blindly.',
  runbook: 'Fast diagnosis playbook: service health',
};

const BOTTLENECK: PlaybookStep = {
  id: 'bottleneck',
  title: 'Third: find the bottleneck (CPU, IO, memory, or lock contention)',
  command: 'top -b -n 1 | head -n 12',
  decision: 'If IO wait is high, look at disk. If memory is low and swap absent, you may be heading toward OOM. If CPU is pegged, profile the service or scale.',
  runbook: 'Fast diagnosis playbook: third, find the bottleneck',
};

/** The playbook as the runbook writes it (ZFS root). */
export const PLAYBOOK: readonly PlaybookStep[] = [WHAT_IS_RUNNING, BOOT, STORAGE_ZFS, NETWORK, SERVICES, BOTTLENECK];

/** The playbook for a root file system: `zpool status` only where there is a pool. */
export function playbookFor(layoutKind: RootKindName): PlaybookStep[] {
  return PLAYBOOK.map((s) => (s.id === 'storage' ? rootKindNamed(layoutKind).playbookStorage : s));
}
