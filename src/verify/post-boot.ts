// The post-boot checks as data (issue #14): each declares its id, the guest commands it reads,
// the host-side probe it needs (if any), its pure verdict (checks.ts) and its runbook Decision,
// in one entry. The verify phase (phases/verify.ts) is a loop over this table; the diagnosis
// takes each check's Decision from here. Adding a check is one entry here and its red/green
// case in test/unit/checks-red.test.ts. Pure: no I/O (the probes are named, and implemented by
// the verify phase).
import { DECISIONS } from '../diagnosis/runbook-text.js';
import { type Check, type CheckId, type PasswordTry, checkBootEntriesOutput, checkBootTime, checkBootedSystem, checkClosureSize, checkDiskSpace, checkEfiBootEntry, checkFailedUnits, checkGenerations, checkPasswordRefused, checkSecretsNotInStore, checkSshLogin, checkSshd, checkVmNetwork } from './checks.js';
import { CLOSURE_SIZE_COMMAND, EFI_VARS_DUMP } from './parsers.js';
import { type RootKindName, rootKindNamed } from '../roots/index.js';

/** What a check's verdict may know besides what it read. */
export interface CheckEnv {
  /** The root's kind: its module (src/roots/<kind>.ts) names the pool-health read and verdict. */
  rootKind: RootKindName;
  /** The system nixos-install installed (system-1-link). */
  toplevel: string;
  espPartuuids: string[];
  /** QEMU's NIC as the harness configures it (qemu/spec.ts VM_NIC). */
  nic: { mac: string; address: string; prefixLength: number };
  /** The harness's login user. */
  user: string;
  /** The generation that must be running and be the boot default (1 after the install; 2 after an upgrade). */
  generation: number;
}

/** A guest command's output and exit code. */
export interface Read {
  output: string;
  exitCode: number;
}

/** What the host-side probes found (implemented in phases/verify.ts). */
export interface ProbeResults {
  /** ssh with this run's key, as the harness user: `<user>@<hostname>` on success. */
  'key-login': { exitCode: number; stdout: string; stderr: string };
  /** ssh with a password and public keys off, as an attacker would. */
  'password-login': PasswordTry;
  /** A runtime secret and this run's private key, searched for in /nix/store. */
  'secret-search': Read;
}
export type ProbeId = keyof ProbeResults;

export interface PostBootCheck {
  id: CheckId;
  /** The runbook's Decision when it fails. */
  decision: { section: string; text: string };
  /** Whether it applies to this system (e.g. only on ZFS). */
  applies?(env: CheckEnv): boolean;
  /** Guest commands it reads, by name (run as root on the installed system). */
  reads: Record<string, string> | ((env: CheckEnv) => Record<string, string>);
  probe?: ProbeId;
  verdict(r: Record<string, Read>, env: CheckEnv, probe: Partial<ProbeResults>): Check;
}

const out = (r: Record<string, Read>, k: string) => r[k]?.output ?? '';

export const POST_BOOT_CHECKS: readonly PostBootCheck[] = [
  {
    id: 'booted-system',
    decision: DECISIONS.task14,
    reads: { current: 'readlink /run/current-system', booted: 'readlink /run/booted-system' },
    verdict: (r, env) => checkBootedSystem(env.toplevel, out(r, 'current').trim(), out(r, 'booted').trim()),
  },
  {
    id: 'boot-entries',
    decision: DECISIONS.task13,
    reads: { list: 'SYSTEMD_COLORS=0 bootctl list --json=short --no-pager', loader: 'cat /boot/loader/loader.conf' },
    verdict: (r, env) => checkBootEntriesOutput(out(r, 'list'), out(r, 'loader'), `nixos-generation-${env.generation}.conf`),
  },
  {
    id: 'generations',
    decision: DECISIONS.task14,
    reads: { list: 'nix-env -p /nix/var/nix/profiles/system --list-generations' },
    verdict: (r, env) => checkGenerations(out(r, 'list'), env.generation, env.generation),
  },
  {
    id: 'pool-health',
    decision: DECISIONS.task15,
    // The root kind's own: on ZFS `zpool status -x`; on ext4 and Btrfs the file system's health.
    reads: (env) => ({ health: rootKindNamed(env.rootKind).health.read }),
    verdict: (r, env) => rootKindNamed(env.rootKind).health.verdict(out(r, 'health'), r.health?.exitCode ?? -1),
  },
  {
    id: 'boot-time',
    decision: DECISIONS.task16,
    reads: { time: 'systemd-analyze time', blame: 'systemd-analyze blame --no-pager | head -n 10' },
    verdict: (r) => checkBootTime(out(r, 'time'), out(r, 'blame')),
  },
  {
    id: 'failed-units',
    decision: DECISIONS.task17,
    reads: { failed: 'systemctl --failed --no-legend --plain --no-pager' },
    verdict: (r) => checkFailedUnits(out(r, 'failed')),
  },
  {
    id: 'sshd',
    decision: DECISIONS.task17,
    reads: { show: 'systemctl show sshd -p ActiveState,SubState' },
    verdict: (r) => checkSshd(out(r, 'show')),
  },
  {
    id: 'vm-network',
    decision: DECISIONS.task17,
    reads: { ip: 'ip -j addr show' },
    verdict: (r, env) => checkVmNetwork(out(r, 'ip'), env.nic),
  },
  {
    id: 'ssh-login',
    decision: DECISIONS.task17,
    reads: { hostname: 'hostname' },
    probe: 'key-login',
    verdict: (r, env, p) => {
      const l = p['key-login'] ?? { exitCode: -1, stdout: '', stderr: 'not tried' };
      return checkSshLogin(l.exitCode, l.stdout, l.stderr, env.user, out(r, 'hostname').trim());
    },
  },
  {
    id: 'password-login-refused',
    decision: DECISIONS.task17,
    reads: {},
    probe: 'password-login',
    verdict: (_r, env, p) => checkPasswordRefused(p['password-login'] ?? { user: env.user, exitCode: -1, stdout: '', stderr: 'not tried', marker: 'not-tried' }),
  },
  {
    id: 'efi-boot-entry',
    decision: DECISIONS.task12,
    reads: { dump: EFI_VARS_DUMP },
    verdict: (r, env) => checkEfiBootEntry(out(r, 'dump'), env.espPartuuids),
  },
  {
    id: 'closure-size',
    decision: DECISIONS.task18,
    reads: { size: CLOSURE_SIZE_COMMAND },
    verdict: (r) => checkClosureSize(out(r, 'size')),
  },
  {
    id: 'disk-space',
    decision: DECISIONS.task18,
    reads: { df: 'df -P / /nix /boot' },
    verdict: (r) => checkDiskSpace(out(r, 'df')),
  },
  {
    id: 'secrets-not-in-store',
    decision: DECISIONS.secrets,
    reads: {},
    probe: 'secret-search',
    verdict: (_r, _env, p) => checkSecretsNotInStore(p['secret-search']?.exitCode ?? -1, p['secret-search']?.output ?? 'not searched'),
  },
];

/** The runbook Decision of the checks the rebuild and rollback phases make. */
const PHASE_CHECK_DECISIONS: Partial<Record<CheckId, { section: string; text: string }>> = {
  'rebuild-build': DECISIONS.build,
  'rebuild-switch': DECISIONS.switch,
  'rebuild-sshd': DECISIONS.switch,
  'rebuild-failed-units': DECISIONS.switch,
  'rebuild-generations': DECISIONS.task14,
  'rollback-in-place': DECISIONS.rollback,
  'rollback-at-boot': DECISIONS.rollback,
  'rollback-entries-retained': DECISIONS.keepGenerations,
};

/** The runbook Decision for a failed check, from the one place each check is declared. */
export function checkDecision(id: string): { section: string; text: string } | undefined {
  return POST_BOOT_CHECKS.find((c) => c.id === id)?.decision ?? PHASE_CHECK_DECISIONS[id as CheckId];
}
