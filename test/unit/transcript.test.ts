// Transcripts of bounded size that keep both ends, and survive a write error (#15 item 7).
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Console } from '../../src/console/console.js';
import { Transcript } from '../../src/console/transcript.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'transcript-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('Transcript', () => {
  it('keeps the head and the tail of a console that never stops, with the gap said', async () => {
    const con = new Console({ name: 'serial', transcriptPath: path.join(tmp, 'serial'), cast: true, transcriptLimits: { headBytes: 64 * 1024, tailBytes: 16 * 1024 } });
    con.feed('boot starts\n');
    for (let i = 0; i < 20_000; i++) con.feed(`line ${i} of a guest that prints without end\n`);
    con.feed('the last line\n');
    await con.close();
    for (const ext of ['raw', 'log', 'cast']) {
      const f = path.join(tmp, `serial.${ext}`);
      expect(statSync(f).size, ext).toBeLessThan(64 * 1024 + 16 * 1024 + 1024);
      const text = readFileSync(f, 'utf8');
      expect(text, ext).toContain('boot starts');
      expect(text.trimEnd().endsWith(ext === 'cast' ? 'the last line\\n"]' : 'the last line'), ext).toBe(true);
      expect(text, ext).toMatch(/\[(nixos-rehearse: )?\d+ bytes (of this console )?left out of (this|the) (recording|transcript)\]/);
    }
    // The recording still parses line by line (asciinema v2: a header, then [time, "o", text]).
    const lines = readFileSync(path.join(tmp, 'serial.cast'), 'utf8').trim().split('\n');
    for (const l of lines.slice(1)) expect(JSON.parse(l)).toEqual([expect.any(Number), 'o', expect.any(String)]);
    // The log's kept tail starts on a whole line.
    const log = readFileSync(path.join(tmp, 'serial.log'), 'utf8');
    const after = log.slice(log.indexOf('left out of the transcript]\n') + 'left out of the transcript]\n'.length);
    expect(after).toMatch(/^\[ *\d+\.\d{3}\] line \d+ of a guest/);
  });

  it('a write error is recorded, not thrown: the run goes on without the file', async () => {
    const t = new Transcript(path.join(tmp, 'no-such-dir', 'x.log'), () => '');
    t.write('something\n');
    await new Promise((r) => setTimeout(r, 50));
    expect(t.error?.message).toMatch(/ENOENT/);
    t.write('more, ignored\n');
    await t.end();
  });
});
