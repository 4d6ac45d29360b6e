// Replays a real serial transcript recorded from the test guest's busybox login shell
// (test/fixtures/record-serial.mts made it) through the console engine, at several chunkings.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Console } from '../../src/console/console.js';
import { Shell } from '../../src/console/shell.js';
import { REPLAY_COMMANDS } from '../fixtures/serial-commands.js';

const raw = readFileSync(new URL('../fixtures/serial-busybox.raw', import.meta.url));
const recorded = JSON.parse(readFileSync(new URL('../fixtures/serial-busybox.json', import.meta.url), 'utf8')) as {
  results: { command: string; nonce: string; exitCode: number; output: string }[];
};

async function replay(chunk: number) {
  const con = new Console({ name: 'replay' });
  con.attachSink(() => {});
  let i = 0;
  const shell = new Shell(con, { timeoutMs: 5000, nonce: () => recorded.results[i++].nonce });
  const feeding = (async () => {
    for (let o = 0; o < raw.length; o += chunk) {
      con.feed(raw.subarray(o, o + chunk));
      if (o % (chunk * 64) === 0) await new Promise((r) => setImmediate(r));
    }
  })();
  const got = [];
  for (const cmd of REPLAY_COMMANDS) got.push(await shell.run(cmd));
  await feeding;
  return got;
}

describe('replay of a recorded busybox serial session', () => {
  it('the transcript really has what makes serial hard: echo wrapped at 80 columns, ESC[6n, CRLF', () => {
    const s = raw.toString('latin1');
    expect(s).toContain('\x1b[6n');
    expect(s).toMatch(/\r\r\n/);
    expect(s).toContain('\r\n');
    // The forged markers of command 5 are really in the stream (as the guest's own output).
    expect(recorded.results[4].output).toContain('nra1b2c3d4e5f0x');
  });

  for (const chunk of [1, 3, 7, 64, 4096, raw.length]) {
    it(`yields the recorded results when fed in ${chunk}-byte chunks`, async () => {
      const got = await replay(chunk);
      expect(got).toEqual(recorded.results.map(({ exitCode, output }) => ({ exitCode, output })));
      expect(got[0].output).toBe('6.1.0-56-amd64\n');
      expect(got[3]).toEqual({ exitCode: 3, output: 'ls: /nonexistent-path: No such file or directory\n' });
      expect(got[5].output.split('\n')).toHaveLength(1501);
      expect(got[6].output.trim()).toBe('REHEARSE0');
    });
  }
});
