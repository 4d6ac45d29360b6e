import { describe, expect, it } from 'vitest';
import { ConsoleText } from '../../src/console/text.js';

function cleanAll(chunks: (string | Buffer)[]): string {
  const t = new ConsoleText();
  return chunks.map((c) => t.push(c)).join('') + t.end();
}

const NOISY =
  '\x1b[2J\x1b[01;01H\x1b[=3hBdsDxe: loading Boot0001\r\n' +
  '[root@nixos:~]# \x1b[6nls -l\r\n\x1b[0m\x1b[01;34mdir\x1b[0m  file ✓ é\r\n' +
  '\x1b]0;title\x07\x1b[?25lbar\x1b[K\r\n';
const CLEAN = 'BdsDxe: loading Boot0001\n[root@nixos:~]# ls -l\ndir  file ✓ é\nbar\n';

describe('ConsoleText', () => {
  it('strips ANSI/CSI/OSC sequences, ESC[6n queries and carriage returns', () => {
    expect(cleanAll([NOISY])).toBe(CLEAN);
  });

  it('gives the same text whatever byte boundary the stream is split at', () => {
    const bytes = Buffer.from(NOISY, 'utf8');
    for (let i = 0; i <= bytes.length; i++) {
      expect(cleanAll([bytes.subarray(0, i), bytes.subarray(i)])).toBe(CLEAN);
    }
  });

  it('gives the same text fed one byte at a time (UTF-8 split inside a character)', () => {
    const bytes = Buffer.from(NOISY, 'utf8');
    expect(cleanAll([...bytes].map((b) => Buffer.from([b])))).toBe(CLEAN);
  });

  it('does not stall on a stray ESC followed by ordinary text', () => {
    const t = new ConsoleText();
    const out = t.push(`\x1b${'x'.repeat(100)}`);
    expect(out.length).toBeGreaterThanOrEqual(99);
  });
});
