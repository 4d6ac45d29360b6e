// The guest's last serial line, read from the run's serial transcripts (logs/serial-*.log):
// what the live line and the heartbeat show while the engine does not yet hand reporters a probe.
import { closeSync, openSync, readSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { RunProbe } from '../reporter.js';

/** The last non-empty line of the newest serial-*.log in `logDir` (its last 4 KiB read), if any. */
export function lastSerialLineIn(logDir: string): string | undefined {
  let newest: { file: string; mtime: number; size: number } | undefined;
  try {
    for (const f of readdirSync(logDir)) {
      if (!/^serial-.*\.log$/.test(f)) continue;
      const st = statSync(path.join(logDir, f));
      if (!newest || st.mtimeMs > newest.mtime) newest = { file: path.join(logDir, f), mtime: st.mtimeMs, size: st.size };
    }
    if (!newest || !newest.size) return undefined;
    const n = Math.min(4096, newest.size);
    const buf = Buffer.alloc(n);
    const fd = openSync(newest.file, 'r');
    try {
      readSync(fd, buf, 0, n, newest.size - n);
    } finally {
      closeSync(fd);
    }
    return buf.toString('utf8').split(/\r?\n|\r/).map((l) => l.trim()).filter(Boolean).at(-1);
  } catch {
    return undefined;
  }
}

export const serialLogProbe = (logDir: string): RunProbe => ({ lastSerialLine: () => lastSerialLineIn(logDir) });
