// Parsers for what the runbook's commands print, pure. Each follows the tool's own output
// format (source named at each) and is unit-tested with real outputs in test/unit/parsers.test.ts.

/** One row of `sgdisk -p` (gdisk `GPTData::DisplayGPTData`: Number, Start, End, Size, Code, Name). */
export interface GptPartition {
  number: number;
  start: number;
  end: number;
  size: string;
  code: string;
  name: string;
}

export function parseSgdiskPrint(out: string): { disk?: string; partitions: GptPartition[] } {
  const disk = /^Disk (\S+):/m.exec(out)?.[1];
  const partitions: GptPartition[] = [];
  for (const m of out.matchAll(/^\s*(\d+)\s+(\d+)\s+(\d+)\s+([\d.]+ [KMGT]?i?B)\s+([0-9A-F]{4})\s*(.*)$/gm)) {
    partitions.push({ number: +m[1]!, start: +m[2]!, end: +m[3]!, size: m[4]!, code: m[5]!, name: m[6]!.trim() });
  }
  return { disk, partitions };
}

/** `zpool status` (OpenZFS cmd/zpool/zpool_main.c `status_callback`/`print_status_config`). */
export interface ZpoolStatus {
  pool: string;
  state: string;
  status?: string;
  action?: string;
  errors?: string;
  /** Config rows: name, state and error counters, indentation kept as depth (0 = the pool). */
  devices: Array<{ name: string; depth: number; state: string; read: string; write: string; cksum: string; note?: string }>;
}

export function parseZpoolStatus(out: string): ZpoolStatus[] {
  const pools: ZpoolStatus[] = [];
  for (const block of out.split(/^(?=\s*pool: )/m)) {
    const pool = /^\s*pool: (\S+)/m.exec(block)?.[1];
    if (!pool) continue;
    const field = (k: string) => new RegExp(`^\\s*${k}: (.*(?:\\n\\t.*)*)`, 'm').exec(block)?.[1]?.replace(/\n\t/g, ' ').trim();
    const devices: ZpoolStatus['devices'] = [];
    const config = /^config:\n\s*\n([\s\S]*?)(?=\n\s*\n|\nerrors:|(?![\s\S]))/m.exec(block)?.[1] ?? '';
    let base: number | undefined;
    for (const line of config.split('\n')) {
      const m = /^(\s*)(\S+)\s+(ONLINE|DEGRADED|FAULTED|OFFLINE|UNAVAIL|REMOVED|AVAIL|INUSE|SUSPENDED)\s*(\S+)?\s*(\S+)?\s*(\S+)?\s*(.*)$/.exec(line);
      if (!m) continue;
      const indent = m[1]!.replace(/\t/g, '        ').length;
      base ??= indent;
      devices.push({ name: m[2]!, depth: Math.round((indent - base) / 2), state: m[3]!, read: m[4] ?? '', write: m[5] ?? '', cksum: m[6] ?? '', note: m[7]?.trim() || undefined });
    }
    pools.push({ pool, state: field('state') ?? '', status: field('status'), action: field('action'), errors: /^errors: (.*)$/m.exec(block)?.[1]?.trim(), devices });
  }
  return pools;
}

/** Healthy as the runbook's Task 6 means it: ONLINE everywhere, zero errors, "No known data errors". */
export function zpoolProblems(s: ZpoolStatus): string[] {
  const p: string[] = [];
  if (s.state !== 'ONLINE') p.push(`pool ${s.pool} is ${s.state || 'in an unknown state'}`);
  for (const d of s.devices) {
    if (d.state !== 'ONLINE') p.push(`${d.name} is ${d.state}${d.note ? ` (${d.note})` : ''}`);
    for (const [k, v] of [['read', d.read], ['write', d.write], ['checksum', d.cksum]] as const) {
      if (v !== '' && v !== '0') p.push(`${d.name} has ${v} ${k} errors`);
    }
  }
  if (s.errors !== undefined && s.errors !== 'No known data errors') p.push(`errors: ${s.errors}`);
  return p;
}

/**
 * `zfs list -o name,mountpoint,compression` (or any -o list): rows keyed by column. zfs prints
 * abbreviated headers (COMPRESS for compression, OpenZFS lib/libzfs/libzfs_dataset.c
 * zfs_prop_column_name), so pass the -o names to key by them; otherwise the header's words.
 */
export function parseColumns(out: string, names?: string[]): Array<Record<string, string>> {
  const lines = out.split('\n').filter((l) => l.trim());
  if (!lines.length) return [];
  const header = names ?? lines[0]!.trim().split(/\s+/).map((h) => h.toLowerCase());
  return lines.slice(1).map((l) => {
    const cells = l.trim().split(/\s+/);
    return Object.fromEntries(header.map((h, i) => [h, i === header.length - 1 ? cells.slice(i).join(' ') : (cells[i] ?? '')]));
  });
}

/** `mount` lines: "<source> on <target> type <fstype> (<options>)" (util-linux mount, no arguments). */
export function parseMountLines(out: string): Array<{ source: string; target: string; fsType: string; options: string[] }> {
  return [...out.matchAll(/^(\S+) on (\S+) type (\S+) \(([^)]*)\)$/gm)].map((m) => ({ source: m[1]!, target: m[2]!, fsType: m[3]!, options: m[4]!.split(',') }));
}

/** `lsblk -J -d -o NAME,SERIAL,TYPE,SIZE,MODEL` (util-linux lsblk --json). */
export interface BlockDevice {
  name: string;
  serial: string | null;
  type: string;
  size?: string;
  model?: string | null;
}

export function parseLsblkJson(out: string): BlockDevice[] {
  const j = JSON.parse(out) as { blockdevices?: BlockDevice[] };
  if (!Array.isArray(j.blockdevices)) throw new Error('lsblk --json printed no "blockdevices" array');
  return j.blockdevices.map((d) => ({ ...d, serial: d.serial?.trim() ?? null }));
}

/**
 * `fileSystems."<mp>" = { device = "..."; fsType = "..."; options = [ ... ]; };` blocks of a
 * hardware-configuration.nix as nixos-generate-config.pl writes them, and whether
 * boot.supportedFilesystems names zfs.
 */
export interface HardwareConfig {
  fileSystems: Record<string, { device?: string; fsType?: string; options: string[] }>;
  supportedFilesystems: string[];
}

export function parseHardwareConfig(text: string): HardwareConfig {
  const fileSystems: HardwareConfig['fileSystems'] = {};
  for (const m of text.matchAll(/fileSystems\."([^"]+)"\s*=\s*\{([^}]*)\}\s*;/g)) {
    const body = m[2]!;
    const options = /options\s*=\s*\[([^\]]*)\]/.exec(body)?.[1];
    fileSystems[m[1]!] = {
      device: /device\s*=\s*"([^"]*)"/.exec(body)?.[1],
      fsType: /fsType\s*=\s*"([^"]*)"/.exec(body)?.[1],
      options: options ? [...options.matchAll(/"([^"]*)"/g)].map((x) => x[1]!) : [],
    };
  }
  const sf = /boot\.supportedFilesystems\s*=\s*\[([^\]]*)\]/.exec(text)?.[1];
  return { fileSystems, supportedFilesystems: sf ? [...sf.matchAll(/"([^"]*)"/g)].map((x) => x[1]!) : [] };
}
