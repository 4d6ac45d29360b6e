// Turns the raw byte stream of a console (serial port or virtio console) into plain text that
// can be matched: UTF-8 decoded across chunk boundaries, ANSI/CSI sequences removed (also when a
// sequence is split across chunks, and the `ESC[6n` cursor queries busybox's line editor sends),
// and carriage returns dropped (a tty turns "\n" into "\r\n"; line editors redraw with "\r").
// Pure: no I/O. Unit-tested byte by byte in test/unit/console-text.test.ts.
import { StringDecoder } from 'node:string_decoder';
import stripAnsi from 'strip-ansi';

// An escape sequence that may still be incomplete at the end of a chunk: ESC, optionally
// followed by a CSI ("[" params... up to a final byte) or OSC ("]" ... BEL / ESC \).
const INCOMPLETE_TAIL = /\x1b(?:\[[0-?]*[ -/]*|\][^\x07\x1b]*\x1b?|[ -/]*)?$/;

export class ConsoleText {
  private decoder = new StringDecoder('utf8');
  private pending = '';

  /** Feeds raw bytes; returns the clean text that is now certain (nothing held back is lost). */
  push(chunk: Buffer | string): string {
    const s = this.pending + (typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
    const tail = INCOMPLETE_TAIL.exec(s);
    // Hold back a possibly unfinished escape sequence, but never more than 64 chars of it:
    // a lone ESC followed by garbage must not stall the stream.
    const cut = tail && s.length - tail.index <= 64 ? tail.index : s.length;
    this.pending = s.slice(cut);
    return clean(s.slice(0, cut));
  }

  /** Flushes whatever is held back (end of stream). */
  end(): string {
    const s = this.pending + this.decoder.end();
    this.pending = '';
    return clean(s);
  }
}

export function clean(s: string): string {
  // Backspace-overwrite and bells are line-editor noise too.
  return stripAnsi(s).replace(/[\r\x07\x00]/g, '');
}

/** `systemctl show`-style `Key=Value` lines as a record (the first `=` splits). */
export function parseKeyValue(out: string): Record<string, string> {
  const r: Record<string, string> = {};
  for (const line of out.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) r[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return r;
}
