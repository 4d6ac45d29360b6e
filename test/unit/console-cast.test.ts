// The serial console's asciinema recording (<transcript>.cast): a v2 header, then one event per
// chunk received, with UTF-8 characters split across chunks kept whole. `asciinema play` and
// the web player read exactly this.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { Console } from '../../src/console/console.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'nr-cast-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('records what the guest printed, in order and replayable, as an asciinema v2 file', async () => {
  const c = new Console({ name: 'installer serial', transcriptPath: path.join(dir, 'serial-1'), cast: true });
  const text = '<<< Welcome to NixOS 25.11 (x86_64) - ttyS0 >>>\r\n\x1b[1;32m[nixos@nixos:~]$\x1b[0m mkfs.fat → done ✓\r\n';
  const bytes = Buffer.from(text, 'utf8');
  // Split inside the multi-byte "→" and "✓".
  const cut1 = bytes.indexOf(Buffer.from('→')) + 1;
  const cut2 = bytes.indexOf(Buffer.from('✓')) + 2;
  for (const part of [bytes.subarray(0, cut1), bytes.subarray(cut1, cut2), bytes.subarray(cut2)]) c.feed(part);
  await c.close();
  const lines = readFileSync(path.join(dir, 'serial-1.cast'), 'utf8').trim().split('\n');
  const header = JSON.parse(lines[0]!) as { version: number; width: number; height: number; timestamp: number; title: string };
  expect(header).toMatchObject({ version: 2, width: 80, title: 'installer serial' });
  expect(header.timestamp).toBeGreaterThan(1_600_000_000);
  const events = lines.slice(1).map((l) => JSON.parse(l) as [number, string, string]);
  expect(events.every(([t, kind]) => kind === 'o' && t >= 0)).toBe(true);
  for (let i = 1; i < events.length; i++) expect(events[i]![0]).toBeGreaterThanOrEqual(events[i - 1]![0]);
  // Played back, the events are exactly the bytes received (escape sequences included), no U+FFFD.
  expect(events.map((e) => e[2]).join('')).toBe(text);
});
