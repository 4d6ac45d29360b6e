// ISO from a path or a URL, with its sha256: against a real HTTP server on 127.0.0.1.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSha256File, resolveIso } from '../../src/iso/source.js';

const body = Buffer.from('not really an ISO, but bytes with a known sha256\n'.repeat(1000));
const sha = createHash('sha256').update(body).digest('hex');
let server: http.Server;
let base: string;
const hits: string[] = [];
const tmp = mkdtempSync(path.join(os.tmpdir(), 'iso-source-'));

beforeAll(async () => {
  server = http.createServer((req, res) => {
    hits.push(req.url ?? '');
    if (req.url === '/nixos.iso' || req.url === '/bare.iso') return res.end(body);
    if (req.url === '/nixos.iso.sha256') return res.end(`${sha}  nixos-minimal-25.11-x86_64-linux.iso\n`);
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('resolveIso', () => {
  it('downloads a URL once into the cache, checked against <url>.sha256', async () => {
    const cache = path.join(tmp, 'c1');
    const r = await resolveIso(`${base}/nixos.iso`, undefined, cache);
    expect(r).toEqual({ path: path.join(cache, 'iso', `${sha}.iso`), sha256: sha });
    hits.length = 0;
    await resolveIso(`${base}/nixos.iso`, sha, cache);
    expect(hits).toEqual([]); // cached by checksum
  });

  it('refuses a mismatching download and keeps nothing', async () => {
    const cache = path.join(tmp, 'c2');
    await expect(resolveIso(`${base}/nixos.iso`, 'a'.repeat(64), cache)).rejects.toThrow(/checksum mismatch .*expected sha256 a{64}, got [0-9a-f]{64}\. Nothing was booted\./);
    expect(existsSync(path.join(cache, 'iso', `${'a'.repeat(64)}.iso`))).toBe(false);
  });

  it('needs a checksum for a URL without a .sha256 beside it', async () => {
    await expect(resolveIso(`${base}/bare.iso`, undefined, path.join(tmp, 'c3'))).rejects.toThrow(/needs its sha256: pass --sha256, or publish .*bare\.iso\.sha256 \(HTTP 404\)/);
  });

  it('refuses plain http to another host, bad checksums, and missing files', async () => {
    await expect(resolveIso('http://example.org/nixos.iso', sha, tmp)).rejects.toThrow(/plain http/);
    await expect(resolveIso(`${base}/nixos.iso`, 'xyz', tmp)).rejects.toThrow(/--sha256 must be 64 hex digits/);
    await expect(resolveIso(path.join(tmp, 'nope.iso'), undefined, tmp)).rejects.toThrow(/ISO not found/);
  });

  it('checks a local file when a checksum is given', async () => {
    const f = path.join(tmp, 'local.iso');
    writeFileSync(f, body);
    expect(await resolveIso(f, `sha256:${sha.toUpperCase()}`, tmp)).toEqual({ path: f, sha256: sha });
    await expect(resolveIso(f, 'b'.repeat(64), tmp)).rejects.toThrow(/checksum mismatch/);
    expect(await resolveIso(f, undefined, tmp)).toEqual({ path: f });
  });

  it('reads sha256sum files and bare hashes', () => {
    expect(parseSha256File(`${sha}  x.iso\n`)).toBe(sha);
    expect(parseSha256File(sha.toUpperCase())).toBe(sha);
    expect(() => parseSha256File('<html>not found</html>')).toThrow(/no sha256/);
  });
});
