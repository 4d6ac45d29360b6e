// The post-boot checks (the runbook's Tasks 13–18 and the issue's additions), as pure functions
// from what the guest printed to a verdict. The runner (verify.ts) runs the commands; every
// check is unit-tested red and green in test/unit/verify.test.ts.
import { parseKeyValue } from '../qemu/machine.js';
import { parseZpoolStatus, zpoolProblems } from '../runbook/parsers.js';
import { type BootEntry, parseAnalyzeTime, parseBlame, parseEfiVars, parseFailedUnits, parseGenerations, parsePathInfoSize } from './parsers.js';

export interface Check {
  id: string;
  status: 'pass' | 'fail';
  summary: string;
  /** The command output the verdict was read from (trimmed). */
  evidence: string;
  /** Figures worth a table: boot times, sizes, counts. */
  figures?: Record<string, number | string>;
}

const pass = (id: string, summary: string, evidence: string, figures?: Check['figures']): Check => ({ id, status: 'pass', summary, evidence: evidence.trim(), figures });
const fail = (id: string, summary: string, evidence: string, figures?: Check['figures']): Check => ({ id, status: 'fail', summary, evidence: evidence.trim(), figures });
/** A check whose input could not be read is a failing check, never a crash. */
export function guarded(id: string, evidence: string, f: () => Check): Check {
  try {
    return f();
  } catch (e) {
    return fail(id, `could not read the output: ${(e as Error).message}`, evidence);
  }
}

/** Task 1 after reboot: the booted system is the one nixos-install installed. */
export function checkBootedSystem(installed: string, current: string, booted: string): Check {
  const ev = `installed: ${installed}\n/run/current-system -> ${current}\n/run/booted-system -> ${booted}`;
  if (current.trim() !== installed.trim()) return fail('booted-system', 'the running system is not the one that was installed', ev);
  if (booted.trim() !== installed.trim()) return fail('booted-system', '/run/booted-system is not the installed system', ev);
  return pass('booted-system', `running the installed system ${installed.trim().replace(/^\/nix\/store\/[^-]+-/, '')}`, ev);
}

/** Task 13 after boot: entries on the ESP and loader.conf's default. */
export function checkBootEntries(entries: BootEntry[], loaderConf: string, evidence: string, wantDefault: string): Check {
  const def = /^default\s+(\S+)/m.exec(loaderConf)?.[1];
  const ids = entries.map((e) => e.id);
  const ev = `${evidence}\n--- loader.conf ---\n${loaderConf}`;
  if (!ids.includes(wantDefault)) return fail('boot-entries', `no boot entry ${wantDefault} (entries: ${ids.join(', ') || 'none'})`, ev);
  if (def !== wantDefault) return fail('boot-entries', `loader.conf default is ${def ?? 'unset'}, not ${wantDefault}`, ev);
  return pass('boot-entries', `${ids.length} entr${ids.length === 1 ? 'y' : 'ies'} on the ESP; default ${def}`, ev, { entries: ids.length });
}

/** Task 14: generations, the expected one current. */
export function checkGenerations(listOut: string, wantCurrent: number, wantAtLeast = 1): Check {
  return guarded('generations', listOut, () => {
    const gens = parseGenerations(listOut);
    const cur = gens.find((g) => g.current);
    if (gens.length < wantAtLeast) return fail('generations', `${gens.length} generation(s), expected at least ${wantAtLeast}`, listOut);
    if (!cur) return fail('generations', 'no generation is current', listOut);
    if (cur.number !== wantCurrent) return fail('generations', `generation ${cur.number} is current, expected ${wantCurrent}`, listOut);
    return pass('generations', `${gens.length} generation(s); generation ${cur.number} is current`, listOut, { generations: gens.length, current: cur.number });
  });
}

/**
 * Task 15: `zpool status -x` must say "all pools are healthy". Its exit code is 0 even for a
 * DEGRADED pool (OpenZFS cmd/zpool/zpool_main.c), so the text is what counts.
 */
export function checkPoolHealth(statusX: string): Check {
  const text = statusX.trim();
  if (text === 'all pools are healthy') return pass('pool-health', 'all pools are healthy', text);
  if (/no pools available/.test(text)) return fail('pool-health', 'no pool is imported', text);
  const pools = parseZpoolStatus(text);
  const problems = pools.flatMap(zpoolProblems);
  return fail('pool-health', problems.length ? problems.join('; ') : 'zpool status -x reports a problem', text);
}

/** On ext4/Btrfs, Task 15's place: the root file system's own health. */
export function checkFilesystemHealth(fsType: string, out: string, exitCode: number): Check {
  if (exitCode !== 0) return fail('pool-health', `${fsType} health check failed (exit ${exitCode})`, out);
  if (fsType === 'btrfs' && /\b[1-9]\d*\b/.test(out.replace(/\[\/dev\/\S+\]\.\w+\s+/g, ''))) return fail('pool-health', 'btrfs device stats show errors', out);
  if (fsType === 'ext4' && !/Filesystem state:\s+clean/.test(out)) return fail('pool-health', 'ext4 file system state is not clean', out);
  return pass('pool-health', `${fsType}: ${fsType === 'ext4' ? 'file system state clean' : 'no device errors'}`, out);
}

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

export function checkFailedUnits(out: string): Check {
  const units = parseFailedUnits(out);
  if (units.length) return fail('failed-units', `${units.length} failed unit(s): ${units.map((u) => u.unit).join(', ')}`, out, { failed: units.length });
  return pass('failed-units', 'no failed units', out || '0 loaded units listed.', { failed: 0 });
}

/** Task 17: `systemctl show sshd -p ActiveState,SubState`. */
export function checkSshd(show: string): Check {
  const p = parseKeyValue(show);
  if (p.ActiveState === 'active' && p.SubState === 'running') return pass('sshd', 'sshd is active (running)', show);
  return fail('sshd', `sshd is ${p.ActiveState ?? 'unknown'} (${p.SubState ?? 'unknown'})`, show);
}

export function checkSshLogin(exitCode: number, stdout: string, stderr: string, user: string, host: string): Check {
  const ev = `exit ${exitCode}\n${stdout}\n${stderr}`.trim();
  if (exitCode === 0 && stdout.trim() === `${user}@${host}`) return pass('ssh-login', `logged in over SSH as ${user} with this run's key`, ev);
  return fail('ssh-login', `SSH login as ${user} with this run's key failed`, ev);
}

export function checkPasswordRefused(exitCode: number, stderr: string): Check {
  const methods = /Permission denied \(([^)]*)\)/.exec(stderr)?.[1];
  if (exitCode !== 0 && methods && !/password|keyboard-interactive/.test(methods)) {
    return pass('password-login-refused', `password login refused; the server offers only: ${methods}`, stderr);
  }
  return fail('password-login-refused', methods ? `the server offers password authentication (${methods})` : 'a password-only login was not refused', `exit ${exitCode}\n${stderr}`);
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
    if (!ours.length) return fail('efi-boot-entry', 'no firmware boot entry points at systemd-boot on the installed ESP', efibootmgr);
    if (!cur) return fail('efi-boot-entry', `BootCurrent ${v.current ?? 'unset'} is not a listed entry`, efibootmgr);
    if (!ours.includes(cur)) {
      const how = /\\EFI\\BOOT\\BOOTX64\.EFI/i.test(cur.file ?? '') || !cur.file ? 'the removable-media fallback (\\EFI\\BOOT\\BOOTX64.EFI)' : (cur.file ?? '?');
      return fail('efi-boot-entry', `booted through ${cur.label} via ${how}, not the installed entry Boot${ours[0]!.num} (${ours[0]!.label})`, efibootmgr);
    }
    const first = v.order[0] === cur.num;
    return pass('efi-boot-entry', `booted Boot${cur.num} "${cur.label}" (${cur.file}) on the installed ESP${first ? ', first in BootOrder' : ''}`, efibootmgr, { bootCurrent: cur.num });
  });
}

/** Task 18: closure size as a figure. */
export function checkClosureSize(out: string): Check {
  return guarded('closure-size', out, () => {
    const s = parsePathInfoSize(out);
    return pass('closure-size', `closure of the running system: ${s.text}`, out, { bytes: s.bytes });
  });
}

/** "Do not store secrets in world-readable Nix store paths": grep's exit 1 means not found. */
export function checkSecretsNotInStore(grepExit: number, grepOut: string): Check {
  if (grepExit === 1) return pass('secrets-not-in-store', "neither the runtime secret nor this run's private key appears under /nix/store", grepOut || '(grep found nothing)');
  if (grepExit === 0) return fail('secrets-not-in-store', `a secret appears in the store: ${grepOut.trim().split('\n').slice(0, 5).join(', ')}`, grepOut);
  return fail('secrets-not-in-store', `searching the store failed (grep exit ${grepExit})`, grepOut);
}
