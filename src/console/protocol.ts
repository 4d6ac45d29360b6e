// The command protocol spoken to a guest shell, pure and without I/O.
//
// Why this design (compare nixpkgs nixos/lib/test-driver/src/test_driver/machine.py, which runs
// `timeout T bash -c '...' | (base64 -w 0; echo)` on a raw, non-echoing root shell on
// /dev/hvc0, and reads the exit code in a second round trip):
//  * The command travels base64-encoded and is decoded by the guest into a file that `sh` runs.
//    So nothing the user's command contains (quotes, newlines, `$`) is ever interpreted by the
//    interactive shell, and no part of it is echoed back by a serial tty.
//  * The output travels base64-encoded too, between a start and an end marker built from a
//    fresh random nonce per command. The markers are printed with `printf '%s%s' A B`, so the
//    echoed command line only ever shows "A B" with a space: the concatenated marker appears
//    only in real output. Guest output cannot forge it: it is base64 inside the frame (no
//    newline, no ':' in that alphabet) and the nonce is unknown to the guest before it runs.
//  * The exit code is in the same frame (one round trip); ash has no PIPESTATUS, so it goes
//    through a file in $TMPDIR.
//  * It works unchanged on an echoing serial login shell (line editing, 80-column wrap,
//    ESC[6n queries) and on the raw control shell the engine starts on /dev/hvc0.
import { RehearseError } from '../errors.js';
import { randomBytes } from 'node:crypto';

export interface Frame {
  /** The line(s) to type, each ending in "\n". */
  lines: string[];
  start: string;
  end: string;
}

export interface CommandResult {
  exitCode: number;
  output: string;
}

/** Longest line we type at once: a tty's canonical buffer holds 4095 bytes; stay far below. */
export const MAX_LINE = 900;

/** A command's output that comes back whole; beyond it, its first and last bytes (see frameCommand). */
export const OUTPUT_HEAD = 1024 * 1024;
export const OUTPUT_TAIL = 4 * 1024 * 1024;
/**
 * The most a frame may hold on the console (base64 of the capped output, with room for line
 * noise): a guest that streams more into a frame, as no real command can, is refused.
 */
export const MAX_FRAME_CHARS = Math.ceil(((OUTPUT_HEAD + OUTPUT_TAIL + 256) * 4) / 3) + 1024 * 1024;

export function newNonce(): string {
  return randomBytes(6).toString('hex');
}

export function frameCommand(command: string, nonce: string = newNonce()): Frame {
  if (!/^[0-9a-f]{8,}$/.test(nonce)) throw new Error(`nonce must be 8+ lowercase hex chars, got ${nonce}`);
  const half = nonce.length >> 1;
  const a = `nr${nonce.slice(0, half)}`;
  const b = `${nonce.slice(half)}x`;
  // Temp file names use the nonce reversed: the nonce itself never appears in what is typed.
  const tmp = `"\${TMPDIR:-/tmp}"/.nr-${[...nonce].reverse().join('')}`;
  const encoded = Buffer.from(command, 'utf8').toString('base64');
  const lines: string[] = [];
  // Long commands go over in chunks appended to a file; each typed line stays short.
  const chunks = encoded.match(new RegExp(`.{1,${MAX_LINE - 60}}`, 'g')) ?? [''];
  lines.push(`: >${tmp}.b\n`);
  for (const c of chunks) lines.push(`printf %s ${c} >>${tmp}.b\n`);
  // The output goes to a file first, and only its ends come back when it is longer than
  // OUTPUT_HEAD + OUTPUT_TAIL bytes: a command that prints 64 MiB costs the guest's disk, not
  // the host's memory.
  const [h, t] = [OUTPUT_HEAD, OUTPUT_TAIL];
  lines.push(
    `printf '%s%s\\n' ${a} ${b}; base64 -d <${tmp}.b >${tmp}.c; sh ${tmp}.c </dev/null >${tmp}.o 2>&1; echo $? >${tmp}.x; ` +
      `n=$(wc -c <${tmp}.o); if [ "$n" -gt ${h + t} ]; then head -c ${h} ${tmp}.o; printf '\\n[%s bytes of output left out]\\n' $((n - ${h + t})); tail -c ${t} ${tmp}.o; else cat ${tmp}.o; fi | base64 -w 0; ` +
      `printf '\\n%s:%s%s\\n' "$(cat ${tmp}.x)" ${b} ${a}; rm -f ${tmp}.b ${tmp}.c ${tmp}.x ${tmp}.o\n`,
  );
  return { lines, start: `${a}${b}\n`, end: `:${b}${a}` };
}

export type ParseResult = { done: false; start?: number } | { done: true; result: CommandResult; consumed: number };

/**
 * Looks for a complete frame in clean console text (see ConsoleText). Returns how much of the
 * text the frame used up, so that the caller can drop it. For long streams a caller passes
 * where the start marker already was found (`start`) or how far it searched (`from`).
 */
export function parseFrame(
  text: { readonly length: number; slice(start?: number, end?: number): string },
  frame: Pick<Frame, 'start' | 'end'>,
  hint: { from?: number; start?: number } = {},
): ParseResult {
  const find = (needle: string, from: number) => {
    const i = text.slice(from).indexOf(needle);
    return i < 0 ? -1 : from + i;
  };
  const s = hint.start ?? find(frame.start, Math.max(0, (hint.from ?? 0) - frame.start.length));
  if (s < 0) return { done: false };
  const bodyStart = s + frame.start.length;
  const e = find(frame.end, Math.max(bodyStart, (hint.from ?? 0) - frame.end.length));
  if (e < 0) {
    if (text.length - bodyStart > MAX_FRAME_CHARS) throw new ProtocolError(`command output frame is larger than ${MAX_FRAME_CHARS} characters, more than the guest side ever sends`, text.slice(bodyStart, bodyStart + 200), 'frame-too-large');
    return { done: false, start: s };
  }
  const body = text.slice(bodyStart, e);
  const nl = body.lastIndexOf('\n');
  const b64 = body.slice(0, Math.max(nl, 0)).replace(/\s+/g, '');
  const rc = body.slice(nl + 1).trim();
  if (!/^\d+$/.test(rc)) throw new ProtocolError(`bad exit code ${JSON.stringify(rc)} in command frame`, body, 'bad-exit-code');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) {
    throw new ProtocolError('command output frame is corrupt (non-base64 text inside it: console noise?)', body);
  }
  return {
    done: true,
    result: { exitCode: Number(rc), output: Buffer.from(b64, 'base64').toString('utf8') },
    consumed: e + frame.end.length,
  };
}

/** A command answer the engine cannot trust (kind protocol); `problem` says what was wrong with it. */
export class ProtocolError extends RehearseError {
  constructor(
    message: string,
    readonly body: string,
    problem: 'frame-too-large' | 'bad-exit-code' | 'corrupt-frame' = 'corrupt-frame',
  ) {
    super('protocol', message, { problem });
    this.name = 'ProtocolError';
  }
}
