// ISO from a path or a URL, with its sha256: against a real HTTP server on 127.0.0.1.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
    if (req.url === '/flaky.iso') {
      // The first two tries die half way (the connection cut), the third gets everything.
      if (hits.filter((h) => h === '/flaky.iso').length <= 2) {
        res.writeHead(200, { 'content-length': body.length });
        res.write(body.subarray(0, body.length / 2));
        return setTimeout(() => res.destroy(), 20);
      }
      return res.end(body);
    }
    if (req.url === '/stalls.iso') {
      res.writeHead(200, { 'content-length': body.length });
      res.write(body.subarray(0, 100)); // then nothing, the connection open
      return;
    }
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
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

  it('hashes a cached ISO before every use: a file put at the cache path is discarded and downloaded again (#15 item 3)', async () => {
    const cache = path.join(tmp, 'c4');
    const file = path.join(cache, 'iso', `${sha}.iso`);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, 'a tampered image, restored from a cache\n');
    const lines: string[] = [];
    hits.length = 0;
    expect(await resolveIso(`${base}/nixos.iso`, sha, cache, (l) => lines.push(l))).toEqual({ path: file, sha256: sha });
    expect(readFileSync(file).equals(body)).toBe(true);
    expect(hits).toEqual(['/nixos.iso']);
    expect(lines[0]).toMatch(/^the cached ISO .* has sha256 [0-9a-f]{64}, not [0-9a-f]{64}: it is discarded and downloaded again$/);
  });

  it('removes what a killed download left, keeps a live one’s', async () => {
    const cache = path.join(tmp, 'c5');
    const file = path.join(cache, 'iso', `${sha}.iso`);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(`${file}.part-999999999`, 'half'); // no such process
    writeFileSync(`${file}.part-1`, 'init is alive'); // PID 1 always is
    await resolveIso(`${base}/nixos.iso`, sha, cache);
    expect(readdirSync(path.dirname(file)).sort()).toEqual([`${sha}.iso`, `${sha}.iso.part-1`]);
  });

  it('retries a cut download, saying so, and names the URL and the cause when it gives up', async () => {
    const lines: string[] = [];
    hits.length = 0;
    const cache = path.join(tmp, 'c6');
    expect(await resolveIso(`${base}/flaky.iso`, sha, cache, (l) => lines.push(l), { retryDelayMs: 10 })).toMatchObject({ sha256: sha });
    expect(hits.filter((h) => h === '/flaky.iso')).toHaveLength(3);
    expect(lines.filter((l) => /^downloading .*\/flaky\.iso failed \(try \d of 3\): .*; trying again$/.test(l))).toHaveLength(2);
    expect(lines.some((l) => /^ {2}\d0 % \(\d+ of \d+ MiB\)$/.test(l) || /^downloading .*flaky\.iso \(\d+ MiB\)$/.test(l))).toBe(true);
    expect(readdirSync(path.join(cache, 'iso'))).toEqual([`${sha}.iso`]);
    // Nothing listens on a port just freed: the error says so, not just "fetch failed".
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    await expect(resolveIso(`http://127.0.0.1:${port}/nixos.iso`, sha, path.join(tmp, 'c7'), () => {}, { retryDelayMs: 1 })).rejects.toThrow(
      new RegExp(`^downloading http://127\\.0\\.0\\.1:${port}/nixos\\.iso failed after 3 tries: fetch failed \\(ECONNREFUSED`),
    );
    await expect(resolveIso(`${base}/stalls.iso`, sha, path.join(tmp, 'c8'), () => {}, { attempts: 1, idleTimeoutMs: 300 })).rejects.toThrow(/stalls\.iso failed after 1 tries: no data for 0\.3 s/);
    expect(readdirSync(path.join(tmp, 'c8', 'iso'))).toEqual([]);
  });

  it('reads sha256sum files and bare hashes', () => {
    expect(parseSha256File(`${sha}  x.iso\n`)).toBe(sha);
    expect(parseSha256File(sha.toUpperCase())).toBe(sha);
    expect(() => parseSha256File('<html>not found</html>')).toThrow(/no sha256/);
  });
});
