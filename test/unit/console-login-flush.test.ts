// The serial login races the engine: what is typed before login(1) has set up the terminal is
// discarded (util-linux login.c init_tty: tcsetattr(TCSAFLUSH)). untilShellAnswers types a
// harmless printf until its output comes back. The fake guest here echoes what it gets, as a
// terminal in cooked mode does, and runs nothing until its shell is up.
import { describe, expect, it } from 'vitest';
import { Console, ConsoleTimeoutError } from '../../src/console/console.js';
import { untilShellAnswers } from '../../src/console/shell.js';

/** A guest whose shell starts after `shellAfterMs`; typed lines before that are echoed, then flushed. */
function slowLogin(shellAfterMs: number): { console: Console; typed: string[] } {
  const c = new Console({ name: 'fake serial' });
  const typed: string[] = [];
  const started = Date.now();
  c.attachSink((d) => {
    const line = String(d);
    typed.push(line);
    c.feed(line.replace(/\n/g, '\r\n')); // the tty's echo
    if (Date.now() - started < shellAfterMs) return; // flushed by login's TCSAFLUSH
    const m = /^printf 'sy%snc\\n' (\S+)\n$/.exec(line);
    if (m) setTimeout(() => c.feed(`sy${m[1]}nc\r\n[root@server:~]# `), 5);
  });
  c.feed('server login: root (automatic login)\r\n');
  return { console: c, typed };
}

describe('untilShellAnswers', () => {
  it('types again until the shell runs it: the first lines, flushed by login, are not lost', async () => {
    const g = slowLogin(120);
    await untilShellAnswers(g.console, 'abc123', 5_000, 50);
    expect(g.typed.length).toBeGreaterThan(1);
    expect(g.typed.every((l) => l === "printf 'sy%snc\\n' abc123\n")).toBe(true);
  });

  it('answers at once when the shell is already up, and the echo alone never counts', async () => {
    const g = slowLogin(0);
    await untilShellAnswers(g.console, 'def456', 5_000, 1_000);
    expect(g.typed).toHaveLength(1);
  });

  it('gives up with a console timeout when the shell never answers', async () => {
    const g = slowLogin(60_000);
    await expect(untilShellAnswers(g.console, 'ghi789', 300, 50)).rejects.toBeInstanceOf(ConsoleTimeoutError);
    expect(g.typed.length).toBeGreaterThan(2);
  });
});
