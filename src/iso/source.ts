// Where the installer ISO comes from: a local path, or an https:// URL downloaded once into the
// cache by its checksum. A checksum given (or published next to the URL as <url>.sha256, as
// channels.nixos.org does) is verified before anything boots; a mismatch is an error.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export class IsoError extends Error {
  override name = 'IsoError';
}

export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(file), h);
  return h.digest('hex');
}

/** The hash from a `.sha256` file: `<hex>  <name>` (sha256sum) or the bare hex. */
export function parseSha256File(text: string): string {
  const m = /\b([0-9a-f]{64})\b/i.exec(text);
  if (!m) throw new IsoError(`no sha256 in the checksum file: ${text.slice(0, 120)}`);
  return m[1]!.toLowerCase();
}

export function normaliseSha(s: string): string {
  const v = s.trim().toLowerCase().replace(/^sha256[:-]/, '');
  if (!/^[0-9a-f]{64}$/.test(v)) throw new IsoError(`--sha256 must be 64 hex digits (got '${s}')`);
  return v;
}

/** The checksum published next to an ISO's URL, as `<url>.sha256` (channels.nixos.org does). */
export async function publishedSha256(url: string): Promise<string> {
  const r = await fetch(`${url}.sha256`);
  if (!r.ok) throw new IsoError(`an ISO from a URL needs its sha256: pass --sha256, or publish ${url}.sha256 (HTTP ${r.status})`);
  return parseSha256File(await r.text());
}

/** Where a downloaded ISO is kept: by its checksum, so each one is fetched once. */
export const isoCachePath = (cacheDir: string, sha256: string) => path.join(cacheDir, 'iso', `${sha256}.iso`);

export interface ResolvedIso {
  path: string;
  sha256?: string;
}

export async function resolveIso(iso: string, sha256: string | undefined, cacheDir: string, log: (s: string) => void = () => {}): Promise<ResolvedIso> {
  const want = sha256 ? normaliseSha(sha256) : undefined;
  if (/^https?:\/\//.test(iso)) {
    // Plain http only to this machine (a local mirror, the tests' server).
    if (!iso.startsWith('https://') && !/^http:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])[:/]/.test(iso)) {
      throw new IsoError(`refusing to download the ISO over plain http: ${iso} (use https://)`);
    }
    const expected = want ?? (await publishedSha256(iso));
    const file = isoCachePath(cacheDir, expected);
    mkdirSync(path.dirname(file), { recursive: true });
    if (!existsSync(file)) {
      log(`downloading ${iso}`);
      const r = await fetch(iso);
      if (!r.ok || !r.body) throw new IsoError(`downloading ${iso} failed: HTTP ${r.status}`);
      const tmp = `${file}.part-${process.pid}`;
      await pipeline(Readable.fromWeb(r.body as import('node:stream/web').ReadableStream), createWriteStream(tmp));
      const got = await sha256File(tmp);
      if (got !== expected) {
        rmSync(tmp, { force: true });
        throw new IsoError(`checksum mismatch for ${iso}: expected sha256 ${expected}, got ${got}. Nothing was booted.`);
      }
      renameSync(tmp, file);
    }
    return { path: file, sha256: expected };
  }
  const file = path.resolve(iso.replace(/^~(?=\/)/, os.homedir()));
  if (!existsSync(file) || !statSync(file).isFile()) throw new IsoError(`ISO not found: ${file}. Give a path to a NixOS installer ISO or an https:// URL.`);
  if (!want) return { path: file };
  const got = await sha256File(file);
  if (got !== want) throw new IsoError(`checksum mismatch for ${file}: expected sha256 ${want}, got ${got}. Nothing was booted.`);
  return { path: file, sha256: got };
}
