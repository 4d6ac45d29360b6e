// Where the installer ISO comes from: a local path, or an https:// URL downloaded once into the
// cache by its checksum. A checksum given (or published next to the URL as <url>.sha256, as
// channels.nixos.org does) is verified before anything boots; a mismatch is an error.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type Field, RehearseError } from '../errors.js';
import { processAlive } from '../leftovers.js';

/** The ISO: a bad path or checksum argument (input), a download that failed (iso-download), or a file that is not the one asked for (iso-checksum-mismatch, with path, expected and actual). */
export class IsoError extends RehearseError {
  constructor(message: string, kind: 'input' | 'iso-download' | 'iso-checksum-mismatch' = 'iso-download', fields: Record<string, Field> = {}) {
    super(kind, message, fields);
    this.name = 'IsoError';
  }
}

/** The ISO is not the one its checksum names: nothing was booted. */
const checksumMismatch = (file: string, expected: string, actual: string) =>
  new IsoError(`checksum mismatch for ${file}: expected sha256 ${expected}, got ${actual}. Nothing was booted.`, 'iso-checksum-mismatch', { path: file, expected, actual });

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
  if (!/^[0-9a-f]{64}$/.test(v)) throw new IsoError(`--sha256 must be 64 hex digits (got '${s}')`, 'input', { setting: '--sha256', value: s });
  return v;
}

/** The checksum published next to an ISO's URL, as `<url>.sha256` (channels.nixos.org does). */
export async function publishedSha256(url: string): Promise<string> {
  let r: Response;
  try {
    r = await fetch(`${url}.sha256`, { signal: AbortSignal.timeout(60_000) });
  } catch (e) {
    throw new IsoError(`fetching ${url}.sha256 failed: ${causeOf(e)}`, 'iso-download', { url: `${url}.sha256` });
  }
  if (!r.ok) throw new IsoError(`an ISO from a URL needs its sha256: pass --sha256, or publish ${url}.sha256 (HTTP ${r.status})`, 'iso-download', { url: `${url}.sha256`, status: r.status });
  return parseSha256File(await r.text());
}

/** Where a downloaded ISO is kept: by its checksum, so each one is fetched once. */
export const isoCachePath = (cacheDir: string, sha256: string) => path.join(cacheDir, 'iso', `${sha256}.iso`);

export interface ResolvedIso {
  path: string;
  sha256?: string;
}

export async function resolveIso(iso: string, sha256: string | undefined, cacheDir: string, log: (s: string) => void = () => {}, opts: DownloadOptions = {}): Promise<ResolvedIso> {
  const want = sha256 ? normaliseSha(sha256) : undefined;
  if (/^https?:\/\//.test(iso)) {
    // Plain http only to this machine (a local mirror, the tests' server).
    if (!iso.startsWith('https://') && !/^http:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])[:/]/.test(iso)) {
      throw new IsoError(`refusing to download the ISO over plain http: ${iso} (use https://)`, 'input', { url: iso });
    }
    const expected = want ?? (await publishedSha256(iso));
    const file = isoCachePath(cacheDir, expected);
    mkdirSync(path.dirname(file), { recursive: true });
    removeLeftovers(file, log);
    // A file at the cache path is trusted no more than a download: whoever put it there (an
    // earlier run, the Actions cache, a person), it is hashed before every use.
    if (existsSync(file)) {
      const got = await sha256File(file);
      if (got === expected) return { path: file, sha256: expected };
      log(`the cached ISO ${file} has sha256 ${got}, not ${expected}: it is discarded and downloaded again`);
      rmSync(file, { force: true });
    }
    await download(iso, file, expected, log, opts);
    return { path: file, sha256: expected };
  }
  const file = path.resolve(iso.replace(/^~(?=\/)/, os.homedir()));
  if (!existsSync(file) || !statSync(file).isFile()) throw new IsoError(`ISO not found: ${file}. Give a path to a NixOS installer ISO or an https:// URL.`, 'input', { path: file });
  if (!want) return { path: file };
  const got = await sha256File(file);
  if (got !== want) throw checksumMismatch(file, want, got);
  return { path: file, sha256: got };
}

export interface DownloadOptions {
  /** Tries before giving up (default 3), with a pause of `retryDelayMs` × the try number. */
  attempts?: number;
  retryDelayMs?: number;
  /** A download that receives nothing for this long is abandoned (default 60 s). */
  idleTimeoutMs?: number;
}

/** What a failed fetch says: undici's "fetch failed" carries the real cause (ECONNREFUSED, …). */
function causeOf(e: unknown): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  const cause = err.cause ? [err.cause.code, err.cause.message].filter(Boolean).join(': ') : '';
  return cause && cause !== err.message ? `${err.message} (${cause})` : err.message;
}

/** `.part-<pid>` files of downloads whose process is gone (killed mid-download). */
function removeLeftovers(file: string, log: (s: string) => void): void {
  const dir = path.dirname(file);
  const prefix = `${path.basename(file)}.part-`;
  for (const f of readdirSync(dir)) {
    if (!f.startsWith(prefix)) continue;
    const pid = Number(f.slice(prefix.length));
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid)) continue;
    rmSync(path.join(dir, f), { force: true });
    log(`removed ${path.join(dir, f)}, left by a download that did not finish`);
  }
}


async function download(url: string, file: string, expected: string, log: (s: string) => void, o: DownloadOptions): Promise<void> {
  const attempts = o.attempts ?? 3;
  const tmp = `${file}.part-${process.pid}`;
  let last = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      await fetchTo(url, tmp, log, o.idleTimeoutMs ?? 60_000);
      const got = await sha256File(tmp);
      if (got !== expected) {
        rmSync(tmp, { force: true });
        throw checksumMismatch(url, expected, got);
      }
      renameSync(tmp, file);
      return;
    } catch (e) {
      rmSync(tmp, { force: true });
      if (e instanceof IsoError && (e.kind === 'iso-checksum-mismatch' || (typeof e.fields.status === 'number' && e.fields.status >= 400 && e.fields.status < 500))) throw e; // a retry would get the same
      last = causeOf(e);
      if (attempt < attempts) {
        log(`downloading ${url} failed (try ${attempt} of ${attempts}): ${last}; trying again`);
        await new Promise((r) => setTimeout(r, (o.retryDelayMs ?? 3000) * attempt));
      }
    }
  }
  throw new IsoError(`downloading ${url} failed after ${attempts} tries: ${last}`, 'iso-download', { url, attempts });
}

/** One try: the body into `tmp`, a progress line every 10 %, abandoned when it stalls. */
async function fetchTo(url: string, tmp: string, log: (s: string) => void, idleMs: number): Promise<void> {
  const abort = new AbortController();
  let idle = setTimeout(() => abort.abort(new Error(`no data for ${idleMs / 1000} s`)), idleMs);
  const poke = () => {
    clearTimeout(idle);
    idle = setTimeout(() => abort.abort(new Error(`no data for ${idleMs / 1000} s`)), idleMs);
  };
  try {
    const r = await fetch(url, { signal: abort.signal });
    if (!r.ok || !r.body) throw new IsoError(`downloading ${url} failed: HTTP ${r.status} ${r.statusText}`.trim(), 'iso-download', { url, status: r.status });
    const total = Number(r.headers.get('content-length')) || 0;
    log(`downloading ${url}${total ? ` (${(total / 2 ** 20).toFixed(0)} MiB)` : ''}`);
    let got = 0;
    let shown = 0;
    const body = Readable.fromWeb(r.body as import('node:stream/web').ReadableStream);
    body.on('data', (chunk: Buffer) => {
      poke();
      got += chunk.length;
      const tenth = total ? Math.floor((got / total) * 10) : 0;
      if (tenth > shown && tenth < 10) {
        shown = tenth;
        log(`  ${tenth * 10} % (${(got / 2 ** 20).toFixed(0)} of ${(total / 2 ** 20).toFixed(0)} MiB)`);
      }
    });
    await pipeline(body, createWriteStream(tmp), { signal: abort.signal });
    if (total && got !== total) throw new Error(`the connection closed after ${got} of ${total} bytes`);
  } catch (e) {
    if (abort.signal.aborted && abort.signal.reason instanceof Error) throw abort.signal.reason;
    throw e;
  } finally {
    clearTimeout(idle);
  }
}
