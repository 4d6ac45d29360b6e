import { describe, expect, it } from 'vitest';
import { Console } from '../../src/console/console.js';
import { MAX_FRAME_CHARS, OUTPUT_HEAD, OUTPUT_TAIL, ProtocolError, frameCommand, parseFrame } from '../../src/console/protocol.js';
import { execFileSync } from 'node:child_process';
import { CommandFailedError, Shell } from '../../src/console/shell.js';
import { type FakeCommand, serialBytesFor } from '../helpers/fake-serial.js';

const COMMANDS: Record<string, FakeCommand> = {
  'echo hello': { output: 'hello\n', exitCode: 0 },
  false: { output: '', exitCode: 1 },
  "printf 'a\\nb'": { output: 'a\nb', exitCode: 0 },
};

describe('frameCommand', () => {
  it('never types the nonce or the markers literally (so an echo cannot complete a frame)', () => {
    const nonce = '0123456789ab';
    const f = frameCommand('echo "$HOME" \'quoted\'\nsecond line', nonce);
    const typed = f.lines.join('');
    expect(typed).not.toContain(nonce);
    expect(typed).not.toContain(f.start.trim());
    expect(typed).not.toContain(f.end);
    // The command itself travels base64-encoded: its quotes and newline are never typed.
    expect(typed).not.toContain('quoted');
    expect(f.lines.every((l) => l.endsWith('\n') && l.indexOf('\n') === l.length - 1)).toBe(true);
  });

  it('splits long commands into short typed lines', () => {
    const f = frameCommand('x'.repeat(20_000), 'aaaabbbbcccc');
    expect(f.lines.length).toBeGreaterThan(20);
    expect(Math.max(...f.lines.map((l) => l.length))).toBeLessThan(1000);
  });

  it('rejects a nonce that could contain shell syntax', () => {
    expect(() => frameCommand('true', "a'b")).toThrow(/nonce/);
  });
});

describe('a command’s output is bounded (#15 item 7)', () => {
  // The frame's lines run by a real sh here, as the guest's shell runs them.
  const runInSh = (command: string) => {
    const f = frameCommand(command, 'aaaabbbbcccc');
    const out = execFileSync('sh', [], { input: f.lines.join(''), maxBuffer: 64 * 1024 * 1024, env: { PATH: process.env.PATH, TMPDIR: process.env.TMPDIR ?? '/tmp' } }).toString();
    const r = parseFrame({ length: out.length, slice: (a, b) => out.slice(a, b) }, f);
    if (!r.done) throw new Error('no frame');
    return r.result;
  };

  it('comes back whole up to the limit, with its exit code', () => {
    expect(runInSh('printf "a\\nb"; exit 3')).toEqual({ exitCode: 3, output: 'a\nb' });
  });

  it('beyond it only its first and last bytes come back, saying how much was left out', () => {
    // 64 MiB of output once reached the host whole, and stayed in its memory.
    const r = runInSh("echo FIRST; head -c 67108864 /dev/zero | tr '\\0' x; echo; echo LAST; exit 5");
    expect(r.exitCode).toBe(5);
    expect(r.output.length).toBeLessThan(OUTPUT_HEAD + OUTPUT_TAIL + 100);
    expect(r.output.startsWith('FIRST\nxxx')).toBe(true);
    expect(r.output.endsWith('xxx\nLAST\n')).toBe(true);
    expect(r.output).toMatch(new RegExp(`\\n\\[${6 + 67108864 + 6 - OUTPUT_HEAD - OUTPUT_TAIL} bytes of output left out\\]\\n`));
  });

  it('a frame that grows past anything the guest side sends is refused, not held', () => {
    const f = frameCommand('x', 'aaaabbbbcccc');
    const huge = `${f.start}${'A'.repeat(MAX_FRAME_CHARS + 10)}`;
    expect(() => parseFrame({ length: huge.length, slice: (a, b) => huge.slice(a, b) }, f)).toThrow(ProtocolError);
  });
});

describe('a command whose guest reboots under it', () => {
  it('fails at once when its console’s waits are aborted (Machine does it on QMP RESET), and the shell is not reused', async () => {
    const con = new Console({ name: 'control' });
    let typed!: () => void;
    const sent = new Promise<void>((r) => (typed = r));
    con.attachSink(() => typed()); // the guest never prints the frame's end: its shell was killed
    const sh = new Shell(con, { timeoutMs: 600_000 });
    const running = sh.run('reboot');
    await sent;
    con.abortWaits(new Error('engine: the guest rebooted while a command was running on its control console'));
    await expect(running).rejects.toThrow(/rebooted while a command was running/);
    expect(sh.isBroken).toBe(true);
  });
});

describe('parseFrame', () => {
  const f = frameCommand('x', 'aaaabbbbcccc');
  it('returns output and exit code, and how much text it used', () => {
    const text = `junk\n${f.start}${Buffer.from('out\n').toString('base64')}\n7${f.end}\nnext`;
    const r = parseFrame(text, f);
    expect(r).toEqual({ done: true, result: { exitCode: 7, output: 'out\n' }, consumed: text.indexOf('\nnext') });
  });
  it('waits for the end of a frame', () => {
    expect(parseFrame(`${f.start}aGk=`, f)).toEqual({ done: false, start: 0 });
  });
  it('refuses a frame with console noise inside it instead of returning wrong output', () => {
    expect(() => parseFrame(`${f.start}aGk[ 12.3] nvme nvme0: I/O timeout\n0${f.end}`, f)).toThrow(/corrupt/);
  });
});

/** A Shell over a Console whose guest is the fake serial shell; `split` chooses the chunking. */
function fakeShell(split: (bytes: Buffer) => Buffer[], noise = '') {
  const con = new Console({ name: 'fake' });
  let pending: string[] = [];
  con.attachSink((d) => {
    pending.push(String(d));
    const last = pending[pending.length - 1];
    if (/printf '\\n%s:%s%s\\n'/.test(last)) {
      const bytes = Buffer.from(serialBytesFor(pending, (c) => COMMANDS[c] ?? { output: `sh: ${c}: not found\n`, exitCode: 127 }, noise));
      pending = [];
      setImmediate(() => {
        for (const chunk of split(bytes)) con.feed(chunk);
      });
    }
  });
  return new Shell(con, { timeoutMs: 5000 });
}

describe('Shell over an echoing serial shell', () => {
  it('runs commands, with exit codes, fed one byte at a time', async () => {
    const sh = fakeShell((b) => [...b].map((x) => Buffer.from([x])));
    expect(await sh.run('echo hello')).toEqual({ exitCode: 0, output: 'hello\n' });
    expect(await sh.run('false')).toEqual({ exitCode: 1, output: '' });
    expect(await sh.succeed("printf 'a\\nb'")).toBe('a\nb');
    await expect(sh.succeed('nope')).rejects.toThrow(CommandFailedError);
    await expect(sh.succeed('nope')).rejects.toThrow(/exit code 127[\s\S]*nope: not found/);
  });

  it('gives the same result whatever byte boundary the stream is split at', async () => {
    const sample = Buffer.from(serialBytesFor(frameCommand('echo hello', 'aaaabbbbcccc').lines, () => COMMANDS['echo hello']));
    for (let i = 1; i < sample.length; i += 1) {
      const sh = fakeShell((b) => [b.subarray(0, Math.min(i, b.length)), b.subarray(Math.min(i, b.length))]);
      expect(await sh.run('echo hello')).toEqual({ exitCode: 0, output: 'hello\n' });
    }
  });

  it('is not fooled by guest output that imitates the completion marker', async () => {
    // The guest prints what a frame looks like, with guessed markers, before the real one.
    const con = new Console({ name: 'forge' });
    const sh = new Shell(con, { timeoutMs: 5000, nonce: () => 'aaaabbbbcccc' });
    const f = frameCommand('cat evil', 'aaaabbbbcccc');
    con.attachSink(() => {});
    const p = sh.run('cat evil');
    const evil = `${f.start}${Buffer.from('forged\n').toString('base64')}\n0${f.end}`;
    // Inside the real frame the forgery is base64 like any output: it is returned, not obeyed.
    con.feed(serialBytesFor(f.lines, () => ({ output: evil, exitCode: 5 })).replace(/\n/g, '\r\n'));
    expect(await p).toEqual({ exitCode: 5, output: evil });
  });

  it('times out with the tail of the console, and refuses further commands on that shell', async () => {
    const con = new Console({ name: 'silent' });
    con.attachSink(() => {});
    con.feed('kernel: something is stuck\r\n');
    const sh = new Shell(con, { timeoutMs: 200 });
    await expect(sh.run('sleep 1000')).rejects.toMatchObject({ kind: 'console-timeout', message: expect.stringMatching(/timed out after 0.2s/), serialTail: expect.stringMatching(/something is stuck/) });
    await expect(sh.run('true')).rejects.toThrow(/unusable/);
  });
});
