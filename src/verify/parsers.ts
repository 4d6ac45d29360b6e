// Parsers for what the post-boot checks read (the runbook's Tasks 13–18), pure. Formats from the
// tools' sources, named at each; unit-tested in test/unit/verify.test.ts.

/** `nix-env -p P --list-generations` (nix src/nix/nix-env/nix-env.cc: "%|4|   %|4|-%|02|-%|02| %|02|:%|02|:%|02|   %||"). */
export interface Generation {
  number: number;
  date: string;
  current: boolean;
}

export function parseGenerations(out: string): Generation[] {
  return [...out.matchAll(/^\s*(\d+)\s+(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\s*(\(current\))?\s*$/gm)].map((m) => ({ number: +m[1]!, date: m[2]!, current: !!m[3] }));
}

/** `nixos-rebuild list-generations --json` (nixos-rebuild-ng src/nixos_rebuild/nix.py GenerationJson). */
export interface GenerationJson {
  generation: number;
  date: string;
  nixosVersion: string;
  kernelVersion: string;
  configurationRevision: string;
  specialisations: string[];
  current: boolean;
}

export function parseGenerationsJson(out: string): GenerationJson[] {
  const j = JSON.parse(out) as unknown;
  if (!Array.isArray(j)) throw new Error('nixos-rebuild list-generations --json did not print an array');
  return j as GenerationJson[];
}

/**
 * A systemd timespan as format_timespan() prints it (src/basic/time-util.c): "1min 2.345s",
 * "850ms", "12.003s", "1h 2min 3s", "123us". Returns milliseconds.
 */
export function parseTimespan(s: string): number {
  const units: Record<string, number> = { y: 31557600000, month: 2629800000, w: 604800000, d: 86400000, h: 3600000, min: 60000, s: 1000, ms: 1, us: 0.001, 'µs': 0.001 };
  let total = 0;
  let any = false;
  for (const m of s.trim().matchAll(/([\d.]+)\s*(month|min|ms|us|µs|y|w|d|h|s)\b/g)) {
    total += Number(m[1]) * units[m[2]!]!;
    any = true;
  }
  if (!any) throw new Error(`not a systemd timespan: '${s}'`);
  return Math.round(total * 1000) / 1000;
}

/**
 * `systemd-analyze time` (src/analyze/analyze-time.c): "Startup finished in 2.1s (firmware) +
 * 1.0s (loader) + 1.6s (kernel) + 3.2s (initrd) + 12.4s (userspace) = 20.3s" then
 * "multi-user.target reached after 12.3s in userspace."
 */
export interface BootTime {
  phases: Record<string, number>;
  totalMs: number;
  target?: string;
  targetMs?: number;
}

export function parseAnalyzeTime(out: string): BootTime {
  const line = /Startup finished in (.*?) = ([^\n]+)/.exec(out);
  if (!line) throw new Error(`systemd-analyze time printed no "Startup finished in": ${out.trim().slice(0, 200)}`);
  const phases: Record<string, number> = {};
  for (const part of line[1]!.split(' + ')) {
    const m = /^(.*) \(([\w-]+)\)$/.exec(part.trim());
    if (m) phases[m[2]!] = parseTimespan(m[1]!);
  }
  const reached = /^(\S+) reached after (.*) in userspace/m.exec(out);
  return { phases, totalMs: parseTimespan(line[2]!), target: reached?.[1], targetMs: reached ? parseTimespan(reached[2]!) : undefined };
}

/** `systemd-analyze blame`: "<timespan> <unit>" per line, slowest first. */
export function parseBlame(out: string): Array<{ unit: string; ms: number }> {
  const rows: Array<{ unit: string; ms: number }> = [];
  for (const line of out.split('\n')) {
    const m = /^\s*(.+?)\s+(\S+\.(?:service|mount|device|target|socket|swap|timer|path|scope|slice))\s*$/.exec(line);
    if (m) rows.push({ unit: m[2]!, ms: parseTimespan(m[1]!) });
  }
  return rows;
}

/**
 * `systemctl --failed --no-legend --plain --no-pager`: "<unit> <load> <active> <sub> <description>"
 * (systemd src/systemctl/systemctl-list-units.c; without --no-legend a header "UNIT LOAD ACTIVE
 * SUB DESCRIPTION" and a legend ending in "N loaded units listed.", as in the runbook's playbook).
 */
export function parseFailedUnits(out: string): Array<{ unit: string; load: string; active: string; sub: string; description: string }> {
  return failedUnitsLines(out)
    .map((l) => {
      const [unit = '', load = '', active = '', sub = '', ...d] = l.split(/\s+/);
      return { unit, load, active, sub, description: d.join(' ') };
    })
    .filter((u) => UNIT_NAME.test(u.unit));
}

/** Lines of `systemctl --failed` that are neither a unit row nor its legend: e.g. "Failed to connect to bus". */
export function failedUnitsUnread(out: string): string[] {
  return failedUnitsLines(out).filter((l) => !UNIT_NAME.test(l.split(/\s+/)[0] ?? ''));
}

const UNIT_NAME = /\.\w+$/;
// The legend: "LOAD   = …" (older systemd) or "Legend: LOAD   → …" (newer), and its hints.
const FAILED_LEGEND = /^(UNIT\s|\d+ loaded units? listed|Legend:|(LOAD|ACTIVE|SUB)\s+[=→]|To show all|Pass --all)/;

function failedUnitsLines(out: string): string[] {
  return out
    .split('\n')
    .map((l) => l.replace(/^[●*×]\s*/, '').trim())
    .filter((l) => l && !FAILED_LEGEND.test(l));
}

/** `bootctl list --json=short` (systemd src/shared/bootspec.c boot_entry_to_json). */
export interface BootEntry {
  type?: string;
  source?: string;
  id: string;
  path?: string;
  title?: string;
  showTitle?: string;
  sortKey?: string;
  version?: string;
  linux?: string;
  initrd?: string[];
  options?: string;
  isReported?: boolean;
  isDefault?: boolean;
  isSelected?: boolean;
}

/** The `default` line of systemd-boot's `loader/loader.conf` (an entry id), if any. */
export function parseLoaderDefault(loaderConf: string): string | undefined {
  return /^default\s+(\S+)/m.exec(loaderConf)?.[1];
}

/** systemd 252 prints one JSON object per line (json-seq style); newer ones an array. */
export function parseBootctlList(out: string): BootEntry[] {
  const text = out.trim();
  if (text.startsWith('[')) return JSON.parse(text) as BootEntry[];
  return text
    .split('\n')
    .map((l) => l.replace(/^\x1e/, '').trim())
    .filter(Boolean)
    .map((l) => JSON.parse(l) as BootEntry);
}

/**
 * The firmware's boot variables, read straight from efivarfs (present on every UEFI Linux, no
 * efibootmgr needed): BootCurrent, BootOrder and each Boot#### (UEFI spec 2.10 §3.1.3
 * EFI_LOAD_OPTION: attributes u32, FilePathListLength u16, Description UCS-2 NUL-terminated,
 * then device path nodes; §10.3.5.1 Hard Drive node type 4/1 with the GPT partition GUID,
 * §10.3.5.4 File Path node type 4/4). Each efivarfs file starts with 4 bytes of attributes.
 * Input: lines "<file name> <base64 of the file>".
 */
export interface EfiBootVars {
  current?: string;
  order: string[];
  entries: Array<{ num: string; active: boolean; label: string; partuuid?: string; file?: string }>;
}

const GLOBAL = '8be4df61-93ca-11d2-aa0d-00e098032b8c';

function guid(b: Buffer, o: number): string {
  const h = (x: Buffer) => x.toString('hex');
  const le = (start: number, len: number) => h(Buffer.from(b.subarray(o + start, o + start + len)).reverse());
  return `${le(0, 4)}-${le(4, 2)}-${le(6, 2)}-${h(b.subarray(o + 8, o + 10))}-${h(b.subarray(o + 10, o + 16))}`;
}

function ucs2z(b: Buffer, o: number, end: number): { text: string; next: number } {
  let i = o;
  while (i + 1 < end && (b[i] !== 0 || b[i + 1] !== 0)) i += 2;
  return { text: b.subarray(o, i).toString('utf16le'), next: i + 2 };
}

export function parseEfiVars(dump: string): EfiBootVars {
  const vars = new Map<string, Buffer>();
  for (const line of dump.split('\n')) {
    const m = /^(\S+)\s+([A-Za-z0-9+/=]*)$/.exec(line.trim());
    if (m && m[1]!.endsWith(`-${GLOBAL}`)) vars.set(m[1]!.slice(0, -GLOBAL.length - 1), Buffer.from(m[2]!, 'base64').subarray(4));
  }
  const hex4 = (n: number) => n.toString(16).toUpperCase().padStart(4, '0');
  const cur = vars.get('BootCurrent');
  const ord = vars.get('BootOrder');
  const order: string[] = [];
  for (let i = 0; ord && i + 1 < ord.length; i += 2) order.push(hex4(ord.readUInt16LE(i)));
  const entries: EfiBootVars['entries'] = [];
  for (const [name, b] of [...vars].sort()) {
    if (!/^Boot[0-9A-F]{4}$/.test(name) || b.length < 6) continue;
    const attrs = b.readUInt32LE(0);
    const pathLen = b.readUInt16LE(4);
    const desc = ucs2z(b, 6, b.length);
    const e: EfiBootVars['entries'][number] = { num: name.slice(4), active: (attrs & 1) === 1, label: desc.text };
    let o = desc.next;
    const end = Math.min(b.length, o + pathLen);
    while (o + 4 <= end) {
      const type = b[o]!;
      const sub = b[o + 1]!;
      const len = b.readUInt16LE(o + 2);
      if (len < 4) break;
      if (type === 0x04 && sub === 0x01 && len >= 42 && b[o + 41] === 0x02) e.partuuid = guid(b, o + 24);
      if (type === 0x04 && sub === 0x04) e.file = ucs2z(b, o + 4, o + len).text;
      if (type === 0x7f && sub === 0xff) break;
      o += len;
    }
    entries.push(e);
  }
  return { current: cur && cur.length >= 2 ? hex4(cur.readUInt16LE(0)) : undefined, order, entries };
}

/**
 * A systemd-boot variable (vendor 4a67b082-0a4c-41cf-b6c7-440b29bb8c4f, systemd
 * docs/BOOT_LOADER_INTERFACE.md): UCS-2 text after efivarfs's 4 attribute bytes. Input: base64
 * of the efivarfs file. LoaderEntrySelected names the entry systemd-boot booted.
 */
export function parseLoaderVar(b64: string): string {
  return Buffer.from(b64.trim(), 'base64').subarray(4).toString('utf16le').replace(/\0+$/, '');
}

export const LOADER_ENTRY_SELECTED = 'base64 -w0 < /sys/firmware/efi/efivars/LoaderEntrySelected-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f';

/** The guest command whose output parseEfiVars reads. */
export const EFI_VARS_DUMP = `cd /sys/firmware/efi/efivars && for f in BootCurrent-${GLOBAL} BootOrder-${GLOBAL} Boot[0-9A-F][0-9A-F][0-9A-F][0-9A-F]-${GLOBAL}; do [ -e "$f" ] && printf '%s %s\\n' "$f" "$(base64 -w0 < "$f")"; done`;

/**
 * How the harness calls `nix`: the new CLI is experimental in Nix 2.x and refuses to run unless
 * `nix-command` is enabled (nix src/libutil/experimental-features.cc), which a configuration's
 * `nix.settings.experimental-features` may not do. The flag enables it for this one command,
 * whatever the configuration says.
 */
export const NIX = "nix --extra-experimental-features 'nix-command flakes'";

/** Task 18's closure size of the running system. */
export const CLOSURE_SIZE_COMMAND = `${NIX} path-info -Sh /run/current-system`;

/** `nix path-info -Sh PATH`: the path, a TAB, renderSize ("%6.1f %ciB"). Returns bytes. */
export function parsePathInfoSize(out: string): { path: string; bytes: number; text: string } {
  const m = /^(\/nix\/store\/\S+)\s+([\d.]+) ([KMGTPE])iB\s*$/m.exec(out);
  if (!m) throw new Error(`nix path-info -Sh printed no size: ${out.trim().slice(0, 200)}`);
  const power = 'KMGTPE'.indexOf(m[3]!) + 1;
  return { path: m[1]!, bytes: Math.round(Number(m[2]) * 1024 ** power), text: `${m[2]} ${m[3]}iB` };
}

/**
 * What `secrets-not-in-store` searches the store for to find this run's private key: the line of
 * the key file (OpenSSH's PEM-like format, base64 at 70 characters a line) that holds the middle
 * of the private key itself. Not the first base64 line: it encodes only the format's fixed
 * header (`openssh-key-v1`, cipher and KDF `none`, one key, its type), so every unencrypted
 * ed25519 key shares it, and nixpkgs' own test keys (nixos/tests/ssh-keys.nix), which a flake
 * system's closure carries, would match it. Layout from OpenSSH's PROTOCOL.key; pure.
 */
export function privateKeyNeedle(keyFile: string): string {
  const lines = keyFile.split('\n').map((l) => l.trim());
  const begin = lines.indexOf('-----BEGIN OPENSSH PRIVATE KEY-----');
  const end = lines.indexOf('-----END OPENSSH PRIVATE KEY-----');
  if (begin < 0 || end < begin + 2) throw new Error('not an OpenSSH private key file (no BEGIN/END OPENSSH PRIVATE KEY lines)');
  const body = lines.slice(begin + 1, end);
  const bytes = Buffer.from(body.join(''), 'base64');
  let o = 0;
  const u32 = () => {
    const v = bytes.readUInt32BE(o);
    o += 4;
    return v;
  };
  const str = () => {
    const n = u32();
    const s = bytes.subarray(o, o + n);
    o += n;
    return s;
  };
  const magic = 'openssh-key-v1\0';
  if (bytes.subarray(0, magic.length).toString('latin1') !== magic) throw new Error('not an OpenSSH private key (no openssh-key-v1 magic)');
  o = magic.length;
  const cipher = str().toString();
  str(); // kdf name
  str(); // kdf options
  const n = u32();
  for (let i = 0; i < n; i++) str(); // public keys
  u32(); // length of the private section
  let target: number;
  if (cipher !== 'none') {
    // Encrypted: the private section is ciphertext; its middle is unique to this key.
    target = o + Math.floor((bytes.length - o) / 2);
  } else {
    o += 8; // two check integers
    const type = str().toString();
    if (type === 'ssh-ed25519') {
      str(); // public key
      target = o + 4 + 16; // the middle of the 32-byte seed at the start of the 64-byte private key
    } else {
      // Other types: the second half of the section holds the private numbers.
      target = o + Math.floor((bytes.length - o) / 2);
    }
  }
  // Line k (0-based) of the body encodes bytes [k*52.5, (k+1)*52.5): 70 base64 characters.
  const width = body[0]!.length;
  const line = Math.min(body.length - 1, Math.floor((target * 4) / 3 / width));
  return body[line]!;
}

/** One interface from `ip -j addr show` (iproute2's JSON: ifname, operstate, address, addr_info). */
export interface IpInterface {
  name: string;
  state: string;
  mac: string;
  /** IPv4 addresses as address/prefix. */
  inet: string[];
}

export function parseIpAddrJson(text: string): IpInterface[] {
  const start = text.indexOf('[');
  if (start < 0) throw new Error(`not ip -j addr output: ${text.trim().slice(0, 200) || '(nothing)'}`);
  const raw = JSON.parse(text.slice(start)) as Array<{ ifname?: string; operstate?: string; address?: string; addr_info?: Array<{ family?: string; local?: string; prefixlen?: number }> }>;
  if (!Array.isArray(raw)) throw new Error('ip -j addr output is not a list');
  return raw.map((r) => ({
    name: r.ifname ?? '?',
    state: r.operstate ?? '?',
    mac: r.address ?? '',
    inet: (r.addr_info ?? []).filter((a) => a.family === 'inet' && a.local).map((a) => `${a.local}/${a.prefixlen}`),
  }));
}
