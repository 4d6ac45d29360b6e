// The cached base of upgrade mode (issue #16 item 3): the base configuration, installed once and
// powered off, kept as qcow2 disks with its EFI variables (saved-install.ts), keyed by everything
// that determines it — the ISO, the base configuration's files (flake.lock included), the layout,
// the disks, the harness. The next run with the same key starts from it and skips the installer
// and the install. An entry that is missing, unreadable or corrupt (`qemu-img check`) is
// discarded and the base installed afresh, saying so; it can never turn a red result green.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { flakeFiles } from '../flake-files.js';
import { qemuImgBinary } from '../qemu/tools.js';
import { harnessModule, wrapperFlake } from '../runbook/harness.js';
import { readSavedInstall } from '../saved-install.js';

/** What determines an installed base. */
export interface BaseKeyParts {
  isoSha256: string;
  /** The base configuration's files (path → sha256), as Nix would see them (flake-files.ts). */
  files: Record<string, string>;
  host: string;
  layout: string;
  disks: number;
  diskSize: string;
  /** The harness the install injected (its text for fixed inputs): a new harness, a new base. */
  harness: string;
}

/** The cache key of a base (pure): a hash of its parts, stable in the order of files. */
export function baseCacheKey(p: BaseKeyParts): string {
  const files = Object.keys(p.files).sort().map((f) => [f, p.files[f]]);
  return createHash('sha256').update(JSON.stringify({ ...p, files })).digest('hex').slice(0, 24);
}

/** The harness as it would be injected, for fixed inputs: what the key holds of it. */
export function harnessFingerprint(): string {
  return createHash('sha256').update(wrapperFlake('host')).update(harnessModule({ sshPublicKey: 'key', password: 'password' }).content).digest('hex').slice(0, 16);
}

/** Every file under `dir` but .git, relative: what the copy into the guest takes outside git. */
function allFiles(dir: string, rel = ''): string[] {
  return readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((e) => {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.name === '.git') return [];
    return e.isDirectory() ? allFiles(dir, p) : e.isFile() ? [p] : [];
  });
}

/** Each file of the base configuration, as the copy into the guest takes it (flake-files.ts), and its sha256. */
export async function configFiles(dir: string): Promise<Record<string, string>> {
  const files = (await flakeFiles(dir)) ?? allFiles(dir);
  return Object.fromEntries(files.map((f) => [f, createHash('sha256').update(readFileSync(path.join(dir, f))).digest('hex')]));
}

export const baseCacheDir = (cacheDir: string, key: string) => path.join(cacheDir, 'installed-bases', key);

/** The key of a base from what a run knows before it starts (the engine and the action's Actions cache use the same). */
export async function baseKeyFor(o: { isoSha256: string; baseDir: string; host: string; layout: string; disks: number; diskSize: string }): Promise<string> {
  return baseCacheKey({ isoSha256: o.isoSha256, files: await configFiles(o.baseDir), host: o.host, layout: o.layout, disks: o.disks, diskSize: o.diskSize, harness: harnessFingerprint() });
}

/**
 * A cached base that can be used: installed.json readable, every disk present and passing
 * `qemu-img check`. Otherwise the entry is removed and why is returned.
 */
export async function usableBase(dir: string): Promise<{ ok: true } | { ok: false; why: string }> {
  let why: string | undefined;
  try {
    const saved = readSavedInstall(dir);
    for (const d of saved.disks) {
      const r = await execa(qemuImgBinary(), ['check', '-q', d.file], { reject: false, stdin: 'ignore' });
      if (r.exitCode !== 0) {
        why = `its disk ${path.basename(d.file)} fails qemu-img check (exit ${r.exitCode}): ${`${r.stderr}`.trim().split('\n')[0] ?? ''}`;
        break;
      }
    }
  } catch (e) {
    why = (e as Error).message;
  }
  if (!why) return { ok: true };
  rmSync(dir, { recursive: true, force: true });
  return { ok: false, why };
}
