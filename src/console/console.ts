// A console of the guest (the serial port or the virtio console) reached through a QEMU chardev
// Unix socket: waitFor(regex), write, sendKeys, and a timestamped transcript on disk (raw bytes
// and ANSI-stripped text). Thin adapter: the parsing lives in text.ts and protocol.ts.
import { StringDecoder } from 'node:string_decoder';
import net from 'node:net';
import { RehearseError } from '../errors.js';
import { connectUnix } from '../unix-socket.js';
import { ConsoleText } from './text.js';
import { Transcript } from './transcript.js';

/** A wait on a console ran out: on which console, waiting for what, how long; its last output apart. */
export class ConsoleTimeoutError extends RehearseError {
  constructor(
    readonly where: { console: string; waitingFor: string; seconds: number },
    /** This console's last output, as it was when the wait ended. */
    readonly tail: string,
  ) {
    super('console-timeout', `timed out after ${where.seconds.toFixed(1)}s on ${where.console} waiting for ${where.waitingFor}`, { ...where });
    this.name = 'ConsoleTimeoutError';
    this.serialTail = tail;
  }
  /** The console's last lines for report.error.serialTail (a machine may replace them with its serial console's). */
  serialTail: string;
}

/** A console closed under a wait: QEMU exited, most likely. */
export class ConsoleClosedError extends RehearseError {
  constructor(
    readonly console: string,
    readonly tail: string,
  ) {
    super('console-closed', `${console} console closed (QEMU exited?)`, { console });
    this.name = 'ConsoleClosedError';
    this.serialTail = tail;
  }
  serialTail: string;
}

/** Read access to the unconsumed text without copying it all (a string is one too). */
export interface TextView {
  readonly length: number;
  slice(start?: number, end?: number): string;
}

/**
 * A matcher looks at the unconsumed text and returns how much it consumed and a value.
 * `seen` is how much of that text this matcher was already shown (without matching), so that a
 * matcher can search only what is new (plus an overlap) and stay linear on long streams.
 */
export type Matcher<T> = (text: TextView, seen: number) => { consumed: number; value: T } | undefined;

/** A regex match may straddle what was already searched and new text by up to this much. */
export const REGEX_OVERLAP = 16 * 1024;
/** Unconsumed text kept in memory while nobody waits; older text stays in the transcript on disk. */
const MAX_UNCONSUMED = 16 * 1024 * 1024;

interface Waiter {
  check: () => boolean;
  fail: (e: Error) => void;
}

const KEYS: Record<string, string> = {
  enter: '\r',
  up: '\x1b[A',
  down: '\x1b[B',
  right: '\x1b[C',
  left: '\x1b[D',
  esc: '\x1b',
  tab: '\t',
  space: ' ',
  backspace: '\x7f',
  'ctrl-c': '\x03',
  'ctrl-d': '\x04',
  home: '\x1b[H',
  end: '\x1b[F',
  f1: '\x1bOP',
  f2: '\x1bOQ',
  f10: '\x1b[21~',
  f12: '\x1b[24~',
};

/** Translates key names (`up`, `enter`, `ctrl-c`, or literal text in `text:...`) to bytes. */
export function keyBytes(keys: string[]): string {
  return keys
    .map((k) => {
      if (k.startsWith('text:')) return k.slice(5);
      const b = KEYS[k.toLowerCase()];
      if (b === undefined) throw new Error(`unknown key ${JSON.stringify(k)}; known: ${Object.keys(KEYS).join(', ')}`);
      return b;
    })
    .join('');
}

export interface ConsoleOptions {
  name: string;
  /** Where the transcript goes: `<path>.raw` (bytes as received) and `<path>.log` (clean, timestamped). */
  transcriptPath?: string;
  /** Keep at most this much consumed text in memory for tail(). */
  keepBytes?: number;
  /**
   * Also record `<transcriptPath>.cast`: an asciinema v2 recording (a JSON header line, then one
   * `[seconds, "o", text]` line per chunk received), replayable with `asciinema play` or the web
   * player: a moving picture of the install as the serial console showed it.
   */
  cast?: boolean;
  /** Bounds of each transcript file (transcript.ts; tests pass small ones). */
  transcriptLimits?: { headBytes?: number; tailBytes?: number };
}

export class Console {
  readonly name: string;
  private socket?: net.Socket;
  private sink?: (d: string | Buffer) => void;
  private text = new ConsoleText();
  /** Clean text in chunks (absolute offsets in chunkStart): unconsumed text and some history. */
  private chunks: string[] = [];
  private chunkStart: number[] = [];
  /** Absolute offset of the end of the text received (= clean characters seen in all). */
  private end = 0;
  /** Absolute offset where unconsumed text starts. */
  private cursor = 0;
  private waiters = new Set<Waiter>();
  private raw?: Transcript;
  private log?: Transcript;
  private cast?: Transcript;
  private castDecoder = new StringDecoder('utf8');
  private logLineOpen = false;
  private t0 = Date.now();
  private closed?: Error;
  private keepBytes: number;

  constructor(opts: ConsoleOptions) {
    this.name = opts.name;
    this.keepBytes = opts.keepBytes ?? 256 * 1024;
    if (opts.transcriptPath) {
      const gap = (n: number) => `\n[nixos-rehearse: ${n} bytes of this console left out of the transcript]\n`;
      this.raw = new Transcript(`${opts.transcriptPath}.raw`, gap, opts.transcriptLimits);
      this.log = new Transcript(`${opts.transcriptPath}.log`, gap, { ...opts.transcriptLimits, align: true });
      if (opts.cast) {
        // The gap as an output event of its own, so that the recording still plays.
        const castGap = (n: number) => `${JSON.stringify([Number(((Date.now() - this.t0) / 1000).toFixed(3)), 'o', `\r\n[${n} bytes left out of this recording]\r\n`])}\n`;
        this.cast = new Transcript(`${opts.transcriptPath}.cast`, castGap, { ...opts.transcriptLimits, align: true });
        // 80 columns as the serial console wraps; the player scrolls beyond 40 rows.
        this.cast.write(`${JSON.stringify({ version: 2, width: 80, height: 40, timestamp: Math.floor(this.t0 / 1000), title: opts.name, env: { TERM: 'vt100' } })}\n`);
      }
    }
  }

  /** Connects to a QEMU chardev socket (retrying while QEMU creates it). */
  async attach(path: string, timeoutMs = 10_000): Promise<void> {
    this.socket = await connectUnix(path, timeoutMs, `${this.name} console`);
    this.socket.on('data', (d: Buffer) => this.feed(d));
    this.socket.on('error', () => {});
    this.socket.on('close', () => this.onClose(new ConsoleClosedError(this.name, this.tail())));
  }

  /** Sends what is written to `sink` instead of a socket (replay tests drive the console by feed()). */
  attachSink(sink: (d: string | Buffer) => void): void {
    this.sink = sink;
  }

  /**
   * Text this console showed before this attachment (a restored VM's boot, as saved): kept for
   * tail() and the transcript, and already consumed, so that no wait matches it.
   */
  history(text: string): void {
    if (!text) return;
    this.append(text.endsWith('\n') ? text : `${text}\n`);
    this.cursor = this.end;
  }

  /** Feeds bytes as if they came from the guest (used by attach, and by replay tests). */
  feed(d: Buffer | string): void {
    this.raw?.write(d);
    if (this.cast) {
      // A UTF-8 character split across chunks is held back until its last byte arrives.
      const text = typeof d === 'string' ? d : this.castDecoder.write(d);
      if (text) this.cast.write(`${JSON.stringify([Number(((Date.now() - this.t0) / 1000).toFixed(3)), 'o', text])}\n`);
    }
    const s = this.text.push(d);
    if (s) this.append(s);
  }

  private append(s: string) {
    const last = this.chunks.length - 1;
    if (last >= 0 && this.chunks[last].length < 8192) this.chunks[last] += s;
    else {
      this.chunks.push(s);
      this.chunkStart.push(this.end);
    }
    this.end += s.length;
    this.writeLog(s);
    for (const w of [...this.waiters]) w.check();
    // Unconsumed text nobody waited for is dropped beyond MAX_UNCONSUMED (the transcript on
    // disk has it all); consumed text is kept only as far as tail() needs.
    if (this.waiters.size === 0 && this.end - this.cursor > MAX_UNCONSUMED) this.cursor = this.end - MAX_UNCONSUMED;
    const keepFrom = this.cursor - this.keepBytes;
    let drop = 0;
    while (drop < this.chunks.length - 1 && this.chunkStart[drop + 1] <= keepFrom) drop++;
    if (drop > 64) {
      this.chunks.splice(0, drop);
      this.chunkStart.splice(0, drop);
    }
  }

  /** Text between absolute offsets [a, b). */
  private textBetween(a: number, b: number): string {
    if (b <= a) return '';
    // Binary search for the chunk holding `a`.
    let lo = 0;
    let hi = this.chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.chunkStart[mid] <= a) lo = mid;
      else hi = mid - 1;
    }
    const parts: string[] = [];
    for (let i = lo; i < this.chunks.length && this.chunkStart[i] < b; i++) {
      const cs = this.chunkStart[i];
      parts.push(this.chunks[i].slice(Math.max(0, a - cs), b - cs));
    }
    return parts.join('');
  }

  private view(): TextView {
    const from = this.cursor;
    const to = this.end;
    return {
      length: to - from,
      slice: (start = 0, stop = to - from) => this.textBetween(from + Math.max(0, start), from + Math.min(stop, to - from)),
    };
  }

  private writeLog(s: string) {
    if (!this.log) return;
    const stamp = () => `[${((Date.now() - this.t0) / 1000).toFixed(3).padStart(9)}] `;
    let out = '';
    for (const part of s.split(/(?<=\n)/)) {
      if (!this.logLineOpen) out += stamp();
      out += part;
      this.logLineOpen = !part.endsWith('\n');
    }
    this.log.write(out);
  }

  private onClose(e: Error) {
    const rest = this.text.end();
    if (rest) this.append(rest);
    this.closed = e;
    for (const w of [...this.waiters]) w.fail(e);
  }

  get isClosed(): boolean {
    return this.closed !== undefined;
  }

  /** Waits until `matcher` finds what it wants in the unconsumed text; consumes up to its end. */
  waitUntil<T>(matcher: Matcher<T>, timeoutMs: number, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      // Absolute position up to which this matcher has looked.
      let seenUpTo = 0;
      const waiter: Waiter = {
        check: () => {
          let m;
          try {
            m = matcher(this.view(), Math.max(0, seenUpTo - this.cursor));
          } catch (e) {
            waiter.fail(e as Error);
            return true;
          }
          seenUpTo = this.end;
          if (!m) return false;
          this.cursor += m.consumed;
          this.waiters.delete(waiter);
          clearTimeout(timer);
          resolve(m.value);
          return true;
        },
        fail: (e) => {
          this.waiters.delete(waiter);
          clearTimeout(timer);
          reject(e);
        },
      };
      if (waiter.check()) return;
      if (this.closed) return reject(this.closed);
      this.waiters.add(waiter);
      timer = setTimeout(
        () => waiter.fail(new ConsoleTimeoutError({ console: this.name, waitingFor: what, seconds: timeoutMs / 1000 }, this.tail())),
        timeoutMs,
      );
    });
  }

  /** Waits for a regular expression in the console's clean text; returns the match. */
  waitFor(re: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    const r = new RegExp(re.source, re.flags.replace('g', ''));
    return this.waitUntil(
      (text, seen) => {
        const from = Math.max(0, seen - REGEX_OVERLAP);
        const m = r.exec(text.slice(from));
        return m ? { consumed: from + m.index + m[0].length, value: m } : undefined;
      },
      timeoutMs,
      String(re),
    );
  }

  /**
   * Fails every pending wait with `e`: what they wait for will never come (the guest rebooted
   * under a command whose end marker its shell was about to print).
   */
  abortWaits(e: Error): void {
    for (const w of [...this.waiters]) w.fail(e);
  }

  /** Marks everything received so far as seen: a later waitFor only matches new text. */
  skipPending(): void {
    this.cursor = this.end;
  }

  write(data: string | Buffer): void {
    if (this.closed) throw this.closed;
    if (this.sink) return this.sink(data);
    if (!this.socket) throw new Error(`${this.name} console is not attached`);
    this.socket.write(data);
  }

  sendKeys(...keys: string[]): void {
    this.write(keyBytes(keys));
  }

  /** The last `lines` lines of clean text seen. */
  tail(lines = 40): string {
    const text = this.textBetween(Math.max(this.chunkStart[0] ?? 0, this.end - 64 * 1024), this.end);
    return text.split('\n').slice(-lines).join('\n');
  }

  async close(): Promise<void> {
    this.socket?.destroy();
    await Promise.all([this.raw?.end(), this.log?.end(), this.cast?.end()]);
    this.raw = this.log = this.cast = undefined;
  }
}
