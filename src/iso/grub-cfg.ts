// Reads the boot menu of a NixOS installer ISO's GRUB config (`/EFI/boot/grub.cfg`), pure.
//
// The shape comes from nixpkgs nixos/modules/installer/cd-dvd/iso-image.nix
// (`menuBuilderGrub2`): each entry is
//
//   menuentry '<label>' --class installer {
//     # Fallback to UEFI console for boot, efifb sometimes has difficulties.
//     terminal_output console
//
//     linux /boot/<kernel> ${isoboot} init=<toplevel>/init <kernelParams>
//     initrd /boot/<initrd>
//   }
//
// In 25.11 (`buildMenuGrub2` with installation-cd-minimal-combined.nix) the top level holds the
// system's entry, `NixOS <label> Installer (Linux LTS)` (prependToMenuLabel, distroName, label,
// appendToMenuLabel, configurationName), then one per specialisation: `latest_kernel`,
// `NixOS <label> Installer (Linux 6.x.y)`, which has ZFS disabled; every variant (copytoram,
// nomodeset, debug, serial console, ...) is under `submenu "Options"`, in a submenu of its own,
// for each configuration again; hidden entries, the rEFInd entry inside an `if` and the firmware
// and shutdown entries carry no kernel. The first top-level menuentry with a `linux` line is the
// LTS installer, the one to boot. `${isoboot}` is only set when GRUB loop-boots the ISO from
// another disk (`findiso=`), so a direct kernel boot drops it.

export interface GrubEntry {
  title: string;
  classes: string[];
  /** Path of the kernel inside the ISO, `//` collapsed: /boot/nix/store/<hash>-linux-<ver>/bzImage. */
  kernel: string;
  initrds: string[];
  /** Kernel parameters as written, `${isoboot}` removed, whitespace collapsed. */
  params: string;
  /** Nesting: [] for a top-level entry, else the submenu titles leading to it. */
  submenus: string[];
}

export class GrubConfigError extends Error {
  override name = 'GrubConfigError';
}

/** Splits a GRUB line into words, honouring single and double quotes (GRUB script lexing, simplified). */
function words(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let q: string | undefined;
  let any = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (q) {
      if (c === q) q = undefined;
      else if (c === '\\' && q === '"' && i + 1 < line.length) cur += line[++i];
      else cur += c;
    } else if (c === "'" || c === '"') {
      q = c;
      any = true;
    } else if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      any = true;
    } else if (/\s/.test(c)) {
      if (cur || any) out.push(cur);
      cur = '';
      any = false;
    } else {
      cur += c;
      any = true;
    }
  }
  if (cur || any) out.push(cur);
  return out;
}

function stripComment(line: string): string {
  // A `#` starts a comment at the beginning of a word, outside quotes.
  let q: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (q) {
      if (c === q) q = undefined;
    } else if (c === "'" || c === '"') q = c;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]!))) return line.slice(0, i);
  }
  return line;
}

const collapse = (p: string) => p.replace(/\/{2,}/g, '/');

/** All menu entries in file order, with their submenu nesting. */
export function parseGrubConfig(text: string): GrubEntry[] {
  const entries: GrubEntry[] = [];
  // A stack of open blocks: 'menuentry' (collecting), 'submenu' (title), or 'other' (if/function).
  const stack: Array<{ kind: 'menuentry' | 'submenu' | 'other'; entry?: GrubEntry; title?: string }> = [];
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const raw = stripComment(lines[n]!).trim();
    if (!raw) continue;
    const w = words(raw);
    const head = w[0]!;
    const opensBlock = raw.endsWith('{');
    if ((head === 'menuentry' || head === 'submenu') && opensBlock) {
      const title = w[1] ?? '';
      const classes: string[] = [];
      for (let i = 2; i < w.length; i++) if (w[i] === '--class' && w[i + 1]) classes.push(w[i + 1]!);
      if (head === 'submenu') stack.push({ kind: 'submenu', title });
      else {
        const submenus = stack.filter((s) => s.kind === 'submenu').map((s) => s.title!);
        stack.push({ kind: 'menuentry', entry: { title, classes, kernel: '', initrds: [], params: '', submenus } });
      }
      continue;
    }
    // A one-line block (`submenu "" {return}`, `hiddenentry ... { ...; }`) opens and closes itself.
    if (raw.endsWith('}') && !raw.includes('{')) {
      const s = stack.pop();
      if (!s) throw new GrubConfigError(`grub.cfg line ${n + 1}: '}' without an open block`);
      if (s.entry) entries.push(s.entry);
      continue;
    }
    if (opensBlock) {
      stack.push({ kind: 'other' });
      continue;
    }
    const entry = [...stack].reverse().find((s) => s.kind === 'menuentry')?.entry;
    if (!entry) continue;
    if (head === 'linux' || head === 'linuxefi') {
      entry.kernel = collapse(w[1] ?? '');
      entry.params = w
        .slice(2)
        .filter((x) => x !== '${isoboot}' && x !== '$isoboot')
        .join(' ');
    } else if (head === 'initrd' || head === 'initrdefi') {
      entry.initrds = w.slice(1).map(collapse);
    }
  }
  if (stack.some((s) => s.kind !== 'other')) throw new GrubConfigError('grub.cfg ends inside a menuentry or submenu (unbalanced braces)');
  return entries;
}

/**
 * The entry to boot for a rehearsal: the first top-level menuentry that boots a Linux kernel
 * (the installer with the default kernel, which has ZFS; the latest-kernel specialisation that
 * follows it has not).
 */
export function installerEntry(text: string): GrubEntry {
  const entries = parseGrubConfig(text);
  const e = entries.find((x) => x.submenus.length === 0 && x.kernel);
  if (!e) {
    throw new GrubConfigError(
      `no top-level menuentry with a 'linux' line in the ISO's grub.cfg (${entries.length} entries found): is this a NixOS installer ISO?`,
    );
  }
  if (!e.initrds.length) throw new GrubConfigError(`menuentry '${e.title}' has no initrd line`);
  if (/\$\{?\w/.test(e.params)) throw new GrubConfigError(`menuentry '${e.title}' uses a GRUB variable in its kernel parameters that a direct boot cannot expand: ${e.params}`);
  if (!/(^|\s)init=\S+/.test(e.params)) throw new GrubConfigError(`menuentry '${e.title}' has no init= parameter: not a NixOS installer entry`);
  return e;
}

/** Kernel parameters for a direct boot of the entry with the serial console as the engine reads it. */
export function directBootParams(e: GrubEntry, serial = 'console=ttyS0,115200n8'): string {
  const params = e.params.split(/\s+/).filter(Boolean);
  if (!params.includes(serial)) params.push(serial);
  return params.join(' ');
}
