// The post-boot checks (the runbook's Tasks 13–18, the safe upgrade pattern and its rollbacks),
// as pure functions from what the guest printed to a verdict. Every verdict lives here: the
// phases (src/phases/, through the check table verify/post-boot.ts) only run the commands and hand their output over, so that each check can
// be shown red and green without a VM (test/unit/checks-red.test.ts covers every id in
// CHECK_IDS; test/unit/verify.test.ts the parsers and the finer messages).
import { parseKeyValue } from '../console/text.js';
import { parseZpoolStatus, zpoolProblems } from '../runbook/parsers.js';
import { type BootEntry, type IpInterface, failedUnitsUnread, parseIpAddrJson, parseAnalyzeTime, parseBlame, parseBootctlList, parseEfiVars, parseFailedUnits, parseGenerations, parseLoaderDefault, parsePathInfoSize } from './parsers.js';
import stripAnsi from 'strip-ansi';
import { parseUnitChanges } from '../upgrade/changes.js';

/**
 * Every check id the phases can put in report.checks. The pass/fail helpers only take these, so a
 * new id does not compile until it is listed here, and checks-red.test.ts fails until it has a
 * red and a green case.
 */
export const CHECK_IDS = [
  'booted-system',
  'boot-entries',
  'generations',
  'pool-health',
  'boot-time',
  'failed-units',
  'sshd',
  'vm-network',
  'ssh-login',
  'password-login-refused',
  'efi-boot-entry',
  'closure-size',
  'disk-space',
  'secrets-not-in-store',
  'rebuild-build',
  'rebuild-switch',
  'rebuild-sshd',
  'rebuild-failed-units',
  'rebuild-generations',
  'rollback-in-place',
  'rollback-at-boot',
  'rollback-entries-retained',
] as const;
export type CheckId = (typeof CHECK_IDS)[number];

/** A store path, as readlink prints one: anything else (an error message, nothing) is no system. */
const STORE_PATH = /^\/nix\/store\/[0-9a-z]{32}-\S+$/;
const shortName = (p: string) => p.trim().replace(/^\/nix\/store\/[^-]+-/, '');

/**
 * Why a check failed, as a stable code per check (the diagnosis rules match these, never the
 * summary, which is for people). Every check can also be `unreadable`: its input could not be
 * parsed (guarded).
 */
export interface CheckReasons {
  'booted-system': 'install-unknown' | 'not-current' | 'not-booted';
  'boot-entries': 'no-entry' | 'wrong-default';
  generations: 'too-few-generations' | 'none-current' | 'wrong-current';
  'pool-health': 'no-pool' | 'unhealthy' | 'check-failed';
  'boot-time': never;
  'failed-units': 'units-failed';
  sshd: 'not-running';
  'vm-network': 'no-nic' | 'no-address';
  'ssh-login': 'refused' | 'unreachable';
  'password-login-refused': 'password-accepted' | 'unreachable';
  'efi-boot-entry': 'no-entry' | 'not-listed' | 'not-installed-entry';
  'closure-size': never;
  'disk-space': 'nearly-full';
  'secrets-not-in-store': 'secret-found' | 'search-failed';
  'rebuild-build': 'build-failed' | 'changed-running-system' | 'no-new-system';
  'rebuild-switch': 'switch-failed' | 'change-not-visible';
  'rebuild-sshd': 'not-running';
  'rebuild-failed-units': 'units-failed';
  'rebuild-generations': 'no-new-generation' | 'none-current' | 'wrong-current';
  'rollback-in-place': 'rollback-failed' | 'change-still-there' | 'not-generation-1';
  'rollback-at-boot': 'not-generation-1';
  'rollback-entries-retained': 'too-few-generations';
}
export type CheckReason<I extends CheckId = CheckId> = CheckReasons[I] | 'unreadable';

export interface Check {
  id: string;
  status: 'pass' | 'fail';
  summary: string;
  /** On a failure: why, as a stable code (CheckReasons); absent on a pass. */
  reason?: string;
  /** The command output the verdict was read from (trimmed). */
  evidence: string;
  /** Figures worth a table: boot times, sizes, counts. */
  figures?: Record<string, number | string>;
  /** Which system it was read on, when a run checks more than one (upgrade mode: the base, the upgraded one, the base again after the rollback). */
  system?: 'base' | 'upgraded' | 'rolled-back';
}

const pass = (id: CheckId, summary: string, evidence: string, figures?: Check['figures']): Check => ({ id, status: 'pass', summary, evidence: evidence.trim(), figures });
const fail = <I extends CheckId>(id: I, reason: CheckReason<I>, summary: string, evidence: string, figures?: Check['figures']): Check => ({ id, status: 'fail', reason, summary, evidence: evidence.trim(), figures });
/** A check whose input could not be read is a failing check, never a crash. */
export function guarded(id: CheckId, evidence: string, f: () => Check): Check {
  try {
    return f();
  } catch (e) {
    return fail(id, 'unreadable', `could not read the output: ${(e as Error).message}`, evidence);
  }
}

/** Task 1 after reboot: the booted system is the one nixos-install installed. */
export function checkBootedSystem(installed: string, current: string, booted: string): Check {
  const ev = `installed: ${installed}\n/run/current-system -> ${current}\n/run/booted-system -> ${booted}`;
  // Without a known installed system, two failed readlinks would compare equal.
  if (!STORE_PATH.test(installed.trim())) return fail('booted-system', 'install-unknown', 'the installed system is unknown (system-1-link was not read)', ev);
  if (current.trim() !== installed.trim()) return fail('booted-system', 'not-current', 'the running system is not the one that was installed', ev);
  if (booted.trim() !== installed.trim()) return fail('booted-system', 'not-booted', '/run/booted-system is not the installed system', ev);
  return pass('booted-system', `running the installed system ${shortName(installed)}`, ev);
}

/** Task 13 after boot: entries on the ESP and loader.conf's default. */
export function checkBootEntries(entries: BootEntry[], loaderConf: string, evidence: string, wantDefault: string): Check {
  const def = parseLoaderDefault(loaderConf);
  const ids = entries.map((e) => e.id);
  const ev = `${evidence}\n--- loader.conf ---\n${loaderConf}`;
  if (!ids.includes(wantDefault)) return fail('boot-entries', 'no-entry', `no boot entry ${wantDefault} (entries: ${ids.join(', ') || 'none'})`, ev);
  if (def !== wantDefault) return fail('boot-entries', 'wrong-default', `loader.conf default is ${def ?? 'unset'}, not ${wantDefault}`, ev);
  return pass('boot-entries', `${ids.length} entr${ids.length === 1 ? 'y' : 'ies'} on the ESP; default ${def}`, ev, { entries: ids.length });
}

/** Task 13 after boot, from the raw outputs: `bootctl list --json=short` and loader.conf. */
export function checkBootEntriesOutput(listJson: string, loaderConf: string, wantDefault: string): Check {
  return guarded('boot-entries', listJson, () => checkBootEntries(parseBootctlList(listJson), loaderConf, listJson, wantDefault));
}

/** Task 14: generations, the expected one current (`rebuild-generations` after the switch). */
export function checkGenerations(listOut: string, wantCurrent: number, wantAtLeast = 1, id: 'generations' | 'rebuild-generations' = 'generations'): Check {
  return guarded(id, listOut, () => {
    const gens = parseGenerations(listOut);
    const cur = gens.find((g) => g.current);
    if (gens.length < wantAtLeast) return fail(id, id === 'rebuild-generations' ? 'no-new-generation' : 'too-few-generations', `${gens.length} generation(s), expected at least ${wantAtLeast}`, listOut);
    if (!cur) return fail(id, 'none-current', 'no generation is current', listOut);
    if (cur.number !== wantCurrent) return fail(id, 'wrong-current', `generation ${cur.number} is current, expected ${wantCurrent}`, listOut);
    return pass(id, `${gens.length} generation(s); generation ${cur.number} is current`, listOut, { generations: gens.length, current: cur.number });
  });
}

/**
 * Task 15: `zpool status -x` must say "all pools are healthy". Its exit code is 0 even for a
 * DEGRADED pool (OpenZFS cmd/zpool/zpool_main.c), so the text is what counts.
 */
export function checkPoolHealth(statusX: string): Check {
  const text = statusX.trim();
  if (text === 'all pools are healthy') return pass('pool-health', 'all pools are healthy', text);
  if (/no pools available/.test(text)) return fail('pool-health', 'no-pool', 'no pool is imported', text);
  const pools = parseZpoolStatus(text);
  const problems = pools.flatMap(zpoolProblems);
  return fail('pool-health', 'unhealthy', problems.length ? problems.join('; ') : 'zpool status -x reports a problem', text);
}

/**
 * On ext4/Btrfs, Task 15's place: the root file system's own health (src/roots/<kind>.ts names
 * the command). ext4: tune2fs -l's "Filesystem state:" is " clean" or " not clean", then " with
 * errors" when the error flag is set (e2fsprogs lib/e2p/ps.c print_fs_state), so only a bare
 * "clean" passes. Btrfs: `btrfs device stats` prints "[<device>].<counter> <n>" per counter
 * (btrfs-progs cmds/device.c); no counter line at all is no evidence, not health.
 */
export function checkExt4Health(out: string, exitCode: number): Check {
  if (exitCode !== 0) return healthCheckFailed('ext4', out, exitCode);
  const state = /^Filesystem state:\s+(.*?)\s*$/m.exec(out)?.[1];
  if (state !== 'clean') return fail('pool-health', 'unhealthy', `ext4 file system state is ${state ? `"${state}"` : 'unknown'}, not clean`, out);
  return pass('pool-health', 'ext4: file system state clean', out);
}

/** Btrfs: every `btrfs device stats` counter 0 (see checkExt4Health). */
export function checkBtrfsHealth(out: string, exitCode: number): Check {
  if (exitCode !== 0) return healthCheckFailed('btrfs', out, exitCode);
  const counters = [...out.matchAll(/^\[[^\]]+\]\.(\w+)\s+(\d+)\s*$/gm)];
  if (!counters.length) return fail('pool-health', 'unreadable', 'btrfs device stats printed no counters', out);
  const bad = counters.filter((m) => m[2] !== '0').map((m) => `${m[1]} ${m[2]}`);
  if (bad.length) return fail('pool-health', 'unhealthy', `btrfs device stats show errors (${bad.join(', ')})`, out);
  return pass('pool-health', 'btrfs: no device errors', out);
}

const healthCheckFailed = (fsType: string, out: string, exitCode: number) => fail('pool-health', 'check-failed', `${fsType} health check failed (exit ${exitCode})`, out);

/** Task 16: boot time as figures, the slowest units. */
export function checkBootTime(timeOut: string, blameOut: string): Check {
  const ev = `${timeOut.trim()}\n--- blame (top 5) ---\n${blameOut.trim().split('\n').slice(0, 5).join('\n')}`;
  return guarded('boot-time', ev, () => {
    const t = parseAnalyzeTime(timeOut);
    const top = parseBlame(blameOut).slice(0, 5);
    const figures: Record<string, number | string> = { totalMs: t.totalMs, ...Object.fromEntries(Object.entries(t.phases).map(([k, v]) => [`${k}Ms`, v])) };
    if (top[0]) figures.slowestUnit = `${top[0].unit} ${top[0].ms} ms`;
    return pass('boot-time', `startup ${(t.totalMs / 1000).toFixed(1)} s${t.target ? `; ${t.target} after ${((t.targetMs ?? 0) / 1000).toFixed(1)} s in userspace` : ''}`, ev, figures);
  });
}

/**
 * `systemctl --failed`: any failed unit is red. So is a line that is neither a unit nor the
 * legend (e.g. "Failed to connect to bus"): an unreadable answer is not "no failed units".
 */
export function checkFailedUnits(out: string, id: 'failed-units' | 'rebuild-failed-units' = 'failed-units'): Check {
  const units = parseFailedUnits(out);
  if (units.length) return fail(id, 'units-failed', `${units.length} failed unit(s): ${units.map((u) => u.unit).join(', ')}`, out, { failed: units.length });
  const unread = failedUnitsUnread(out);
  if (unread.length) return fail(id, 'unreadable', `could not read systemctl --failed: ${unread[0]}`, out);
  return pass(id, 'no failed units', out || '0 loaded units listed.', { failed: 0 });
}

/** Task 17: `systemctl show sshd -p ActiveState,SubState` (`rebuild-sshd` after the switch). */
export function checkSshd(show: string, id: 'sshd' | 'rebuild-sshd' = 'sshd'): Check {
  const p = parseKeyValue(show);
  if (p.ActiveState === 'active' && p.SubState === 'running') return pass(id, 'sshd is active (running)', show);
  return fail(id, 'not-running', `sshd is ${p.ActiveState ?? 'unknown'} (${p.SubState ?? 'unknown'})`, show);
}

export function checkSshLogin(exitCode: number, stdout: string, stderr: string, user: string, host: string): Check {
  const ev = `exit ${exitCode}\n${stdout}\n${stderr}`.trim();
  if (exitCode === 0 && stdout.trim() === `${user}@${host}`) return pass('ssh-login', `logged in over SSH as ${user} with this run's key`, ev);
  // sshd answered and refused the key, or never answered (no network, sshd down).
  return fail('ssh-login', /Permission denied/.test(`${stdout}\n${stderr}`) ? 'refused' : 'unreachable', `SSH login as ${user} with this run's key failed`, ev);
}

/** What the host saw when it tried a password login (verify/ssh.ts: ssh with the key off, askpass forced). */
export interface PasswordTry {
  user: string;
  exitCode: number;
  stdout: string;
  stderr: string;
  /** What the remote command prints: only a login that got in prints it. */
  marker: string;
}

/**
 * A password login for a user that has one must be refused. Proven by trying, not by reading the
 * methods offered: NixOS offers keyboard-interactive by default (nixpkgs
 * nixos/modules/services/networking/ssh/sshd.nix: KbdInteractiveAuthentication defaults to true)
 * yet with PasswordAuthentication = false its PAM stack has no unix auth
 * (security.pam.services.sshd.unixAuth follows PasswordAuthentication), so no password gets in.
 */
export function checkPasswordRefused(t: PasswordTry): Check {
  const evidence = `ssh ${t.user}@vm with its password (public keys off): exit ${t.exitCode}\n${t.stderr}${t.stdout ? `\nstdout: ${t.stdout}` : ''}`;
  if (t.exitCode === 0 && t.stdout.includes(t.marker)) {
    return fail('password-login-refused', 'password-accepted', `a password login as ${t.user} got in`, evidence);
  }
  const methods = /Permission denied \(([^)]*)\)/.exec(t.stderr)?.[1];
  if (t.exitCode !== 0 && methods !== undefined) {
    return pass('password-login-refused', `a password login as ${t.user} (who has a password) was refused; the server offers: ${methods}`, evidence);
  }
  return fail('password-login-refused', 'unreachable', `could not try a password login: ${t.stderr.trim().split('\n').pop() || `ssh exited ${t.exitCode}`}`, evidence);
}

/**
 * The VM's NIC (QEMU's, found by its MAC, whatever udev named it) has the address the harness
 * gives it (harness.ts): without it nothing on the host can reach the VM, and every SSH check
 * after this one fails for that reason, not its own.
 */
export function checkVmNetwork(ipJson: string, nic: { mac: string; address: string; prefixLength: number }): Check {
  return guarded('vm-network', ipJson, () => {
    const ifs = parseIpAddrJson(ipJson);
    const list = (xs: IpInterface[]) => xs.map((i) => `${i.name} ${i.state}${i.inet.length ? ` ${i.inet.join(' ')}` : ''}`).join('; ');
    const it = ifs.find((i) => i.mac.toLowerCase() === nic.mac.toLowerCase());
    if (!it) return fail('vm-network', 'no-nic', `no interface has QEMU's MAC ${nic.mac} (interfaces: ${list(ifs) || 'none'})`, ipJson);
    const want = `${nic.address}/${nic.prefixLength}`;
    if (!it.inet.includes(want)) {
      return fail('vm-network', 'no-address', `QEMU's NIC ${it.name} (MAC ${nic.mac}, ${it.state}) does not have ${want}${it.inet.length ? `: it has ${it.inet.join(', ')}` : ': it has no IPv4 address'}`, list(ifs));
    }
    return pass('vm-network', `QEMU's NIC ${it.name} (MAC ${nic.mac}) has ${want}`, list(ifs));
  });
}

/**
 * The firmware boots the installed disk's own loader: BootCurrent names an entry whose device
 * path is the ESP's partition (by PARTUUID) and systemd-boot's file. A boot that only worked
 * through the removable fallback \EFI\BOOT\BOOTX64.EFI (or an auto-created disk entry) is
 * reported as such.
 */
export function checkEfiBootEntry(dump: string, espPartuuids: string[]): Check {
  return guarded('efi-boot-entry', dump, () => {
    const v = parseEfiVars(dump);
    // Evidence: the variables decoded (efibootmgr-style), then the raw dump they came from.
    const efibootmgr = [`BootCurrent: ${v.current ?? 'unset'}`, `BootOrder: ${v.order.join(',')}`, ...v.entries.map((e) => `Boot${e.num}${e.active ? '*' : ' '} ${e.label}\t${e.partuuid ? `HD(GPT,${e.partuuid})` : ''}${e.file ? `/File(${e.file})` : ''}`), '--- efivarfs ---', dump.trim()].join('\n');
    const cur = v.entries.find((e) => e.num === v.current);
    const ours = v.entries.filter((e) => e.partuuid && espPartuuids.includes(e.partuuid) && /systemd-bootx64\.efi/i.test(e.file ?? ''));
    if (!ours.length) return fail('efi-boot-entry', 'no-entry', 'no firmware boot entry points at systemd-boot on the installed ESP', efibootmgr);
    if (!cur) return fail('efi-boot-entry', 'not-listed', `BootCurrent ${v.current ?? 'unset'} is not a listed entry`, efibootmgr);
    if (!ours.includes(cur)) {
      const how = /\\EFI\\BOOT\\BOOTX64\.EFI/i.test(cur.file ?? '') || !cur.file ? 'the removable-media fallback (\\EFI\\BOOT\\BOOTX64.EFI)' : (cur.file ?? '?');
      return fail('efi-boot-entry', 'not-installed-entry', `booted through ${cur.label} via ${how}, not the installed entry Boot${ours[0]!.num} (${ours[0]!.label})`, efibootmgr);
    }
    const first = v.order[0] === cur.num;
    return pass('efi-boot-entry', `booted Boot${cur.num} "${cur.label}" (${cur.file}) on the installed ESP${first ? ', first in BootOrder' : ''}`, efibootmgr, { bootCurrent: cur.num });
  });
}

/** Task 18: closure size as a figure. */
/**
 * Task 18 and Common mistakes 4 ("the disk fills"): the file systems of /, /nix and /boot, from
 * `df -P` (POSIX format: `Filesystem 1024-blocks Used Available Capacity Mounted on`, coreutils
 * df.c), each under 90 % used. A freshly installed machine that is already nearly full fails its
 * first rebuild or garbage collection.
 */
export function checkDiskSpace(dfOut: string): Check {
  return guarded('disk-space', dfOut, () => {
    const rows = new Map<string, number>();
    for (const line of dfOut.split('\n').slice(1)) {
      const m = /^\S+\s+\d+\s+\d+\s+\d+\s+(\d+)%\s+(\/\S*)\s*$/.exec(line.trim());
      if (m) rows.set(m[2]!, Number(m[1]));
    }
    if (!rows.size) throw new Error('df printed no file system');
    const figures = Object.fromEntries([...rows].map(([at, pct]) => [at, pct]));
    const text = [...rows].map(([at, pct]) => `${at} ${pct}% used`).join(', ');
    const full = [...rows].filter(([, pct]) => pct >= 90);
    return full.length ? fail('disk-space', 'nearly-full', `nearly full: ${full.map(([at, pct]) => `${at} ${pct}%`).join(', ')}`, dfOut, figures) : pass('disk-space', text, dfOut, figures);
  });
}

export function checkClosureSize(out: string): Check {
  return guarded('closure-size', out, () => {
    const s = parsePathInfoSize(out);
    return pass('closure-size', `closure of the running system: ${s.text}`, out, { bytes: s.bytes });
  });
}

/** "Do not store secrets in world-readable Nix store paths": grep's exit 1 means not found. */
export function checkSecretsNotInStore(grepExit: number, grepOut: string): Check {
  if (grepExit === 1) return pass('secrets-not-in-store', "neither the runtime secret nor this run's private key appears under /nix/store", grepOut || '(grep found nothing)');
  if (grepExit === 0) return fail('secrets-not-in-store', 'secret-found', `a secret appears in the store: ${grepOut.trim().split('\n').slice(0, 5).join(', ')}`, grepOut);
  return fail('secrets-not-in-store', 'search-failed', `searching the store failed (grep exit ${grepExit})`, grepOut);
}

/**
 * The safe upgrade pattern's first step: `nixos-rebuild build` makes a new system (./result) and
 * leaves the running one alone ("If build fails, you haven't touched the running system").
 * `before`/`currentAfter`: readlink /run/current-system around the build; `markerAfter`: the
 * harness's /etc/nixos-rehearse/generation after it, which must still be `wantMarker`.
 */
export interface RebuildBuildEvidence {
  exitCode: number;
  output: string;
  before: string;
  built: string;
  currentAfter: string;
  markerAfter: string;
  wantMarker?: string;
}

export function checkRebuildBuild(e: RebuildBuildEvidence): Check {
  const [before, built] = [e.before.trim(), e.built.trim()];
  const untouched = e.currentAfter.trim() === before && e.markerAfter.trim() === (e.wantMarker ?? '1');
  if (e.exitCode !== 0) return fail('rebuild-build', 'build-failed', `nixos-rebuild build failed (exit ${e.exitCode})`, e.output);
  if (!untouched) return fail('rebuild-build', 'changed-running-system', 'nixos-rebuild build changed the running system', e.output);
  // readlink's error message is not a system: ./result must be a store path, and a new one.
  if (!STORE_PATH.test(built) || built === before) return fail('rebuild-build', 'no-new-system', 'nixos-rebuild build made no new system', e.output);
  return pass('rebuild-build', `nixos-rebuild build made ${shortName(built)}; the running system is untouched`, e.output);
}

/** `nixos-rebuild switch`: exit 0 is not enough, the harness's change must be visible. */
export function checkRebuildSwitch(exitCode: number, output: string, marker: string, wantMarker = '2'): Check {
  const gen = marker.trim();
  if (exitCode !== 0) return fail('rebuild-switch', 'switch-failed', `nixos-rebuild switch failed (exit ${exitCode})`, output);
  if (gen !== wantMarker) return fail('rebuild-switch', 'change-not-visible', `the change is not visible (/etc/nixos-rehearse/generation = ${gen || 'missing'})`, output);
  return pass('rebuild-switch', `nixos-rebuild switch activated generation ${wantMarker}: the change is visible (/etc/nixos-rehearse/generation = ${wantMarker})`, output);
}

/**
 * Units the switch reported failed (switch-to-configuration-ng: "warning: the following units
 * failed: …", then `systemctl status` of each, exit 4) that the new generation does not have
 * at all ("Loaded: not-found"): units of the generation switched away from that failed there,
 * still listed as failed by systemd until `systemctl reset-failed`; not a failure of the switch.
 * Undefined when any failed unit is one of the new generation's, or none is listed.
 */
export function leftoverFailedUnits(switchOutput: string): string[] | undefined {
  const failed = parseUnitChanges(switchOutput).failed;
  if (!failed.length) return undefined;
  const text = stripAnsi(switchOutput);
  const esc = (u: string) => u.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const gone = (u: string) => new RegExp(String.raw`^[×●○] ${esc(u)}(?: - [^\n]*)?\n\s+Loaded: not-found`, 'm').test(text);
  return failed.every(gone) ? failed : undefined;
}

/**
 * `nixos-rebuild switch --rollback`: the change is gone (the marker is back to 1) and, when the
 * links were read, /run/current-system is generation 1's system again. Its exit 4 is no
 * failure of the rollback when every unit it reports failed is a leftover of the generation
 * rolled back from (leftoverFailedUnits): the summary names them.
 */
export function checkRollbackInPlace(exitCode: number, output: string, marker: string, links?: { current: string; gen1: string }): Check {
  const gen = marker.trim();
  const ev = links ? `${output.trim()}\n--- after ---\n/run/current-system -> ${links.current.trim()}\nsystem-1-link -> ${links.gen1.trim()}` : output;
  const leftover = exitCode === 4 ? leftoverFailedUnits(output) : undefined;
  if (exitCode !== 0 && !leftover) return fail('rollback-in-place', 'rollback-failed', `nixos-rebuild switch --rollback failed (exit ${exitCode})`, ev);
  if (gen !== '1') return fail('rollback-in-place', 'change-still-there', `the change is still there (/etc/nixos-rehearse/generation = ${gen})`, ev);
  if (links && (!STORE_PATH.test(links.gen1.trim()) || links.current.trim() !== links.gen1.trim())) {
    return fail('rollback-in-place', 'not-generation-1', `/run/current-system is not generation 1 after the rollback (${shortName(links.current) || 'unreadable'})`, ev);
  }
  const note = leftover ? ` (it exits 4: ${leftover.join(', ')}, failed in the generation rolled back from and gone from generation 1, stay listed as failed until \`systemctl reset-failed\`)` : '';
  return pass('rollback-in-place', `nixos-rebuild switch --rollback: generation 1 is current again and the change is gone${note}`, ev);
}

/**
 * The boot-time rollback: generation 1 chosen with `bootctl set-oneshot` while 2 stays the
 * default. systemd-boot records what it booted in LoaderEntrySelected (systemd
 * docs/BOOT_LOADER_INTERFACE.md); stage 2 links /run/booted-system to what actually ran.
 */
export interface RollbackAtBootEvidence {
  /** `bootctl set-oneshot … && bootctl status | grep -E "OneShot|Default"` before the reboot. */
  oneshot: string;
  selected: string;
  defaultEntry?: string;
  booted: string;
  gen1: string;
  /** /etc/nixos-rehearse/generation after the reboot. */
  marker: string;
}

export function checkRollbackAtBoot(e: RollbackAtBootEvidence): Check {
  const [booted, gen1, marker] = [e.booted.trim(), e.gen1.trim(), e.marker.trim()];
  const ev = `${e.oneshot.trim()}\n--- after reboot ---\nLoaderEntrySelected: ${e.selected}\nloader.conf default: ${e.defaultEntry}\n/run/booted-system -> ${booted}\nsystem-1-link -> ${gen1}\n/etc/nixos-rehearse/generation: ${marker}`;
  const ranGen1 = STORE_PATH.test(gen1) && booted === gen1;
  if (ranGen1 && e.selected === 'nixos-generation-1.conf' && e.defaultEntry === 'nixos-generation-2.conf' && marker === '1') {
    return pass('rollback-at-boot', 'booted generation 1 from the boot menu (bootctl set-oneshot; systemd-boot reports nixos-generation-1.conf selected) while generation 2 is the default', ev);
  }
  return fail('rollback-at-boot', 'not-generation-1', `choosing generation 1 at boot did not run it: systemd-boot selected ${e.selected || 'nothing'}, /run/booted-system ${ranGen1 ? 'is' : 'is not'} generation 1, the default is ${e.defaultEntry}`, ev);
}

/**
 * "If you only keep one generation, you've turned NixOS into a fancy package manager": after the
 * rollbacks, at least two nixos-generation-N entries must still be in the boot menu.
 */
export function checkEntriesRetained(listJson: string): Check {
  return guarded('rollback-entries-retained', listJson, () => {
    const n = parseBootctlList(listJson).filter((e) => /^nixos-generation-\d+\.conf$/.test(e.id)).length;
    return n >= 2
      ? pass('rollback-entries-retained', `${n} generations are still in the boot menu`, listJson, { entries: n })
      : fail('rollback-entries-retained', 'too-few-generations', `only ${n} generation in the boot menu: no last-known-good to fall back to`, listJson);
  });
}
