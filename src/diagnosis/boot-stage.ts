// How far a boot got, read from the serial console: the last stage whose marker appears, with
// the line that shows it. Pure: the engine hands over the serial text (the Console's clean text
// or a transcript `serial-*.log`, whose lines start with the engine's "[  12.345] " stamp).
//
// The markers are what the real components print, each named at its marker below. The fixture
// installer (vm/fixture) prints the same ones, except that its stage 1 announces itself as
// "<<< stage 1: … >>>" (vm/fixture/initrd/init) where NixOS prints "<<< NixOS Stage 1 >>>":
// both are read.
import { clean } from '../console/text.js';

export type BootStageName = 'none' | 'firmware' | 'boot-loader' | 'initrd' | 'stage-2' | 'login' | 'install' | 'reboot';

export interface BootStage {
  reached: BootStageName;
  /** The line that shows it (a window around the marker when the line is a redrawn menu). */
  evidence: string;
}

interface Marker {
  stage: BootStageName;
  re: RegExp;
}

// Order only matters for two markers at the same position; otherwise the last one in the text
// wins, so that a log holding a reboot and a second boot reads as the second boot.
const MARKERS: Marker[] = [
  // OVMF: its PlatformBootManagerLib status-code handler prints each boot option it loads and
  // starts, "%a: %a Boot%04x \"%s\" from %s" and "%a: failed to %a Boot%04x …: %r" (edk2
  // OvmfPkg); with no bootable option left it starts the UEFI Shell ("UEFI Interactive Shell
  // v2.2", "Shell> ", ShellPkg). Everything up to the hand-over is still the firmware.
  { stage: 'firmware', re: /BdsDxe: (?:loading|starting|failed to load|failed to start) Boot[0-9A-Fa-f]{4} "[^"\n]*"/g },
  { stage: 'firmware', re: /UEFI Interactive Shell v[\d.]+|^Shell> /gm },
  { stage: 'firmware', re: /SeaBIOS \(version [^)\n]*\)/g },
  // systemd-boot draws its menu with "Boot in %u s." as the status line (systemd
  // src/boot/efi/boot.c); GRUB greets with "Welcome to GRUB!" (grub-core/kern/main.c) and heads
  // its menu with "GNU GRUB  version %s" (grub-core/normal/main.c grub_normal_init_page).
  { stage: 'boot-loader', re: /Boot in \d+ s\./g },
  { stage: 'boot-loader', re: /Welcome to GRUB!|GNU GRUB {1,2}version \S+/g },
  // The kernel and its initrd are NixOS's stage 1: the EFI stub's first words ("EFI stub: …",
  // linux drivers/firmware/efi/libstub efi_info's prefix), the printk banner "Linux version …"
  // (init/version.c), then stage-1-init.sh's greeting "<<< NixOS Stage 1 >>>" and, when it
  // gives up, "An error occurred in stage 1 of the boot process" (nixpkgs
  // nixos/modules/system/boot/stage-1-init.sh). systemd in the initrd greets with the
  // initrd-release PRETTY_NAME, "… (Initrd)" (nixpkgs nixos/modules/misc/version.nix).
  { stage: 'initrd', re: /EFI stub: [^\n]*/g },
  { stage: 'initrd', re: /Linux version \d[^\s]*/g },
  { stage: 'initrd', re: /<<< NixOS Stage 1 >>>/g },
  { stage: 'initrd', re: /<<< stage 1(?: failed)?: [^\n]*?>>>/g },
  { stage: 'initrd', re: /An error occurred in stage 1 of the boot process/g },
  { stage: 'initrd', re: /Welcome to [^\n]*\(Initrd\)!/g },
  // Stage 2: stage-2-init.sh's "<<< NixOS Stage 2 >>>" (nixpkgs
  // nixos/modules/system/boot/stage-2-init.sh), then systemd's "Welcome to <PRETTY_NAME>!"
  // (systemd src/core/main.c status_welcome), and its emergency target's "You are in emergency
  // mode" (units/emergency.service) when local file systems failed.
  { stage: 'stage-2', re: /<<< NixOS Stage 2 >>>/g },
  { stage: 'stage-2', re: /Welcome to NixOS(?![^\n]*\(Initrd\))[^\n]*!/g },
  { stage: 'stage-2', re: /You are in emergency mode/g },
  // The login prompt: getty's greeting "<<< Welcome to NixOS <label> (\m) - \l >>>" (nixpkgs
  // nixos/modules/services/ttys/getty.nix; the installer's too), agetty's "<host> login: " and,
  // with autologin, "<host> login: <user> (automatic login)" (util-linux term-utils/agetty.c).
  { stage: 'login', re: /<<< Welcome to NixOS [^\n]*>>>/g },
  { stage: 'login', re: /^(?!Last )\S+ login: /gm },
  { stage: 'login', re: /\(automatic login\)/g },
  // nixos-install's last words (nixpkgs pkgs/by-name/ni/nixos-install/nixos-install.sh).
  { stage: 'install', re: /^installation finished!/gm },
  // The kernel's last line before it powers off or resets (kernel/reboot.c). "secureboot: Secure
  // boot disabled" must not count, hence the boundary.
  { stage: 'reboot', re: /(?<![\w-])reboot: (?:Power down|Restarting system|System halted)/g },
];

/** The engine's transcript stamp at the start of each line of `serial-*.log`. */
const STAMP = /^\[ *\d+\.\d{3}\] /gm;

/** Clean text, one line per line, without the engine's stamps (the kernel's own stay). */
export function normalizeSerial(serialText: string): string {
  return clean(serialText).replace(STAMP, '');
}

/** The line around `index`, cut to a window when it is long (systemd-boot redraws on one line). */
function lineAt(text: string, index: number, length: number): string {
  const start = text.lastIndexOf('\n', index - 1) + 1;
  const endNl = text.indexOf('\n', index);
  const end = endNl < 0 ? text.length : endNl;
  const line = text.slice(start, end);
  if (line.length <= 240) return line.trim();
  const from = Math.max(0, index - start - 80);
  return line.slice(from, Math.min(line.length, index - start + length + 80)).trim();
}

export function bootStage(serialText: string): BootStage {
  const text = normalizeSerial(serialText);
  let best: { stage: BootStageName; index: number; length: number; rank: number } | undefined;
  MARKERS.forEach((m, rank) => {
    for (const hit of text.matchAll(m.re)) {
      const index = hit.index ?? 0;
      if (!best || index > best.index || (index === best.index && rank > best.rank)) best = { stage: m.stage, index, length: hit[0].length, rank };
    }
  });
  if (!best) return { reached: 'none', evidence: '' };
  return { reached: best.stage, evidence: lineAt(text, best.index, best.length) };
}

/**
 * The kernel's panic line, "Kernel panic - not syncing: <reason>" (kernel/panic.c), or
 * undefined. The first one: the closing "---[ end Kernel panic - not syncing: … ]---" repeats it.
 */
export function kernelPanic(serialText: string): string | undefined {
  const m = /Kernel panic - not syncing: ([^\n]*)/.exec(normalizeSerial(serialText));
  if (!m) return undefined;
  return `Kernel panic - not syncing: ${m[1]!.replace(/\s*\]---\s*$/, '').trim()}`;
}

/**
 * What the firmware said when a boot option did not start ("BdsDxe: failed to load Boot0001 …:
 * Not Found") and whether it ended in the UEFI Shell: the runbook's "Boot drops to firmware menu
 * or no bootable device" (Common mistakes 1), read from the console.
 */
export function firmwareFailures(serialText: string): { failed: string[]; shell: boolean } {
  const text = normalizeSerial(serialText);
  // Once each: the same lines may come from the serial tail and from an error that quotes it.
  const failed = [...new Set([...text.matchAll(/BdsDxe: failed to (?:load|start) Boot[0-9A-Fa-f]{4} [^\n]*/g)].map((m) => m[0].trim()))];
  return { failed, shell: /UEFI Interactive Shell v[\d.]+|^Shell> /m.test(text) };
}

/**
 * How stage 1 gave up, or undefined: the fixture's "<<< stage 1 failed: … >>>", NixOS's "An
 * error occurred in stage 1 of the boot process", and the lines that say why: zpool's "cannot
 * import 'rpool': …" (after NixOS's `importing root ZFS pool "rpool"...`, nixpkgs
 * nixos/modules/tasks/filesystems/zfs.nix), mount's failures.
 */
export function stage1Failure(serialText: string): { line: string; reasons: string[] } | undefined {
  const text = normalizeSerial(serialText);
  const line = /<<< stage 1 failed: [^\n]*?>>>|An error occurred in stage 1 of the boot process[^\n]*/.exec(text)?.[0];
  const reasons = [...new Set([...text.matchAll(/^(?:.*?)(cannot import '[^']+': [^\n]*|filesystem '[^']+' cannot be mounted[^\n]*|mount: mounting \S+ on \S+ failed: [^\n]*|Timed out waiting for device [^\n]*)/gm)].map((m) => m[1]!.trim()))];
  if (!line && !reasons.some((r) => r.startsWith('cannot import'))) return undefined;
  return { line: line ?? reasons[0]!, reasons };
}

/**
 * The kernel's OOM-killer verdicts on a serial console: Linux mm/oom_kill.c __oom_kill_process
 * prints "%s: Killed process %d (%s) total-vm:%lukB, anon-rss:…, UID:%u pgtables:%lukB
 * oom_score_adj:%hd" with "Out of memory" (or "Memory cgroup out of memory") as the message.
 */
export function oomKills(serialText: string): string[] {
  const text = normalizeSerial(serialText);
  return [...text.matchAll(/(?:Memory cgroup out of memory|Out of memory): Killed process \d+ \([^)\n]*\)[^\n]*/g)].map((m) => m[0].trim());
}

/**
 * What ends a wait for a boot at once, because the guest gave up and will wait forever: the
 * kernel's panic, NixOS stage 1's fail() ("An error occurred in stage 1 of the boot process",
 * nixpkgs nixos/modules/system/boot/stage-1-init.sh, which then waits for a key), systemd's
 * emergency mode. Each one a whole line, its newline seen: a wait that ended on part of the
 * panic line kept a serial tail cut at "VFS: Unable" (the rest had not arrived yet).
 */
export const BOOT_GAVE_UP = /Kernel panic - not syncing:[^\n]*\n|An error occurred in stage 1 of the boot process[^\n]*\n|You are in emergency mode[^\n]*\n/;

/** The stage a boot gave up in, from the line BOOT_GAVE_UP matched. */
export function gaveUpStage(line: string): string {
  return /Kernel panic/.test(line) ? 'the kernel' : /stage 1/.test(line) ? 'stage 1 (the initrd)' : 'stage 2 (systemd emergency mode)';
}
