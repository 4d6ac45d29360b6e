// What an echoing serial login shell (busybox ash on ttyS0) sends back for typed lines,
// modelled on the recorded transcript in test/fixtures/serial-busybox.raw: a prompt followed by
// an ESC[6n cursor query, the echo of the typed line wrapped at 80 columns with "\r\r\n",
// "\r\n" line ends (onlcr), and colour sequences. Guest-side execution of our protocol's frame
// is interpreted here only for the unit tests; the VM tests run the real thing.
export interface FakeCommand {
  output: string;
  exitCode: number;
}

const PROMPT = '\x1b[1;32m[root@rehearse-guest:/]#\x1b[0m ';

export function wrapEcho(line: string, promptWidth: number, cols = 80): string {
  let out = '';
  let col = promptWidth;
  for (const ch of line) {
    out += ch;
    col++;
    if (col === cols) {
      out += '\r\r\n';
      col = 0;
    }
  }
  return out;
}

/**
 * Produces the bytes an echoing shell sends for `lines` (one frame's lines), running the framed
 * command through `exec`. `noise` is printed by the guest between commands (kernel messages).
 */
export function serialBytesFor(lines: string[], exec: (cmd: string) => FakeCommand, noise = ''): string {
  let s = '';
  let b64 = '';
  for (const l of lines) {
    const line = l.replace(/\n$/, '');
    s += `${PROMPT}\x1b[6n${wrapEcho(line, 26)}\r\n`;
    const chunk = /^printf %s (\S+) >>/.exec(line);
    if (chunk) b64 += chunk[1];
    const m = /^printf '%s%s\\n' (\S+) (\S+);/.exec(line);
    if (m) {
      const [, a, b] = m;
      const r = exec(Buffer.from(b64, 'base64').toString('utf8'));
      s += `${a}${b}\r\n${Buffer.from(r.output).toString('base64')}\r\n${r.exitCode}:${b}${a}\r\n`;
    }
  }
  return s + noise + PROMPT;
}
