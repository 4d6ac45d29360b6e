// What an upgrade changes, read from the real tools' output (issue #16 item 2). Pure.
//
// - The closure difference: `nix store diff-closures <before> <after>` (NixOS/nix
//   src/nix/diff-closures.cc printClosureDiff): one line per package whose versions or size
//   changed, `<name>: <removed versions> → <added versions>, <±N.N> KiB`, `∅` for none, `ε` for an
//   empty version, the size only when it moved by 8 KiB or more, coloured red/green on a TTY.
// - The units the switch touched: switch-to-configuration's own lines (nixpkgs
//   pkgs/by-name/sw/switch-to-configuration-ng/src/src/main.rs: "stopping the following units: …",
//   "restarting the following units: …", "starting the following units: …", "reloading the
//   following units: …", "the following new units were started: …", "warning: the following
//   units failed: …"), comma-separated.
// - Whether the new generation needs a reboot: its kernel, initrd or kernel modules differ from
//   the booted system's, as nixpkgs' auto-upgrade decides it (nixos/modules/tasks/auto-upgrade.nix,
//   allowReboot: `readlink /run/booted-system/{initrd,kernel,kernel-modules}` against the new
//   generation's), and systemd (a new systemd runs only after `systemctl daemon-reexec` or a boot).
import stripAnsi from 'strip-ansi';

export interface PackageChange {
  name: string;
  /** Versions only in the old closure ([] for none: `∅`; '' is an empty version: `ε`). */
  removed: string[];
  /** Versions only in the new closure. */
  added: string[];
  /** Size change in bytes (KiB as printed, ×1024), when diff-closures shows one. */
  sizeDelta?: number;
}

export interface ClosureDiff {
  packages: PackageChange[];
  /** The sum of the size changes shown. */
  sizeDelta: number;
}

const versions = (s: string) => (s.trim() === '∅' ? [] : s.split(', ').map((v) => (v === 'ε' ? '' : v)));

/** `nix store diff-closures` output, as printed (with or without colour). */
export function parseDiffClosures(output: string): ClosureDiff {
  const packages: PackageChange[] = [];
  for (const raw of stripAnsi(output).split('\n')) {
    const line = raw.trimEnd();
    const m = /^(\S[^:]*): (.+)$/.exec(line);
    if (!m) continue;
    let rest = m[2]!;
    let sizeDelta: number | undefined;
    const size = /(?:^|, )([+-]\d+(?:\.\d+)?) KiB$/.exec(rest);
    if (size) {
      sizeDelta = Math.round(Number(size[1]) * 1024);
      rest = rest.slice(0, size.index);
    }
    const arrow = rest.indexOf(' → ');
    if (arrow < 0 && sizeDelta === undefined) continue;
    packages.push({ name: m[1]!, removed: arrow < 0 ? [] : versions(rest.slice(0, arrow)), added: arrow < 0 ? [] : versions(rest.slice(arrow + 3)), ...(sizeDelta !== undefined ? { sizeDelta } : {}) });
  }
  return { packages, sizeDelta: packages.reduce((n, p) => n + (p.sizeDelta ?? 0), 0) };
}

export interface UnitChanges {
  stopped: string[];
  restarted: string[];
  started: string[];
  reloaded: string[];
  /** Units that came up because the new configuration wants them ("the following new units were started"). */
  newlyStarted: string[];
  failed: string[];
}

const UNIT_LINES: Array<[keyof UnitChanges, RegExp]> = [
  ['stopped', /^stopping the following units: (.*)$/],
  ['restarted', /^restarting the following units: (.*)$/],
  ['started', /^starting the following units: (.*)$/],
  ['reloaded', /^reloading the following units: (.*)$/],
  ['newlyStarted', /^the following new units were started: (.*)$/],
  ['failed', /^warning: the following units failed: (.*)$/],
];

/** The units `switch-to-configuration switch` (through nixos-rebuild) says it touched. */
export function parseUnitChanges(switchOutput: string): UnitChanges {
  const out: UnitChanges = { stopped: [], restarted: [], started: [], reloaded: [], newlyStarted: [], failed: [] };
  for (const line of stripAnsi(switchOutput).split('\n')) {
    for (const [k, re] of UNIT_LINES) {
      const m = re.exec(line.trim());
      if (m) for (const u of m[1]!.split(',').map((s) => s.trim()).filter(Boolean)) if (!out[k].includes(u)) out[k].push(u);
    }
  }
  return out;
}

/** The boot-critical links of a NixOS system (toplevel): readlink of each, '' when absent. */
export const BOOT_LINKS = ['kernel', 'initrd', 'kernel-modules', 'systemd'] as const;
export type BootLinks = Partial<Record<(typeof BOOT_LINKS)[number], string>>;

/** A guest command printing `<link>=<target>` for each boot link of a system path. */
export function bootLinksCommand(system: string): string {
  return BOOT_LINKS.map((l) => `printf '${l}=%s\\n' "$(readlink ${system}/${l} 2>/dev/null)"`).join('; ');
}

export function parseBootLinks(out: string): BootLinks {
  const r: BootLinks = {};
  for (const line of out.split('\n')) {
    const m = /^(kernel|initrd|kernel-modules|systemd)=(.*)$/.exec(line.trim());
    if (m) r[m[1] as keyof BootLinks] = m[2]!;
  }
  return r;
}

/** Which boot links differ between the booted system and the new generation: a reboot is needed when any does. */
export function needsReboot(booted: BootLinks, next: BootLinks): { needed: boolean; because: string[] } {
  const because = BOOT_LINKS.filter((l) => (booted[l] ?? '') !== (next[l] ?? ''));
  return { needed: because.length > 0, because: [...because] };
}
