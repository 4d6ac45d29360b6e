// A transcript file of bounded size that keeps both ends: everything up to `headBytes`, then only
// the last `tailBytes` (held in memory, written at close after a note of how much was left out).
// A guest that prints without end cannot fill the disk or the run's artifact, and the end of a
// long boot (where a failure shows) is still there. A write error (disk full, the directory
// removed) is recorded, never thrown: losing a transcript must not kill the run.
import { type WriteStream, createWriteStream } from 'node:fs';

export const TRANSCRIPT_HEAD_BYTES = 32 * 1024 * 1024;
export const TRANSCRIPT_TAIL_BYTES = 8 * 1024 * 1024;

export class Transcript {
  private stream: WriteStream;
  private written = 0;
  private tail: Buffer[] = [];
  private tailSize = 0;
  private left = 0;
  private closed = false;
  /** The first write error, if any: the transcript stopped there. */
  error?: Error;

  /**
   * `note(bytes)` is what marks the gap; `align` cuts the kept tail to start after its first
   * newline (line-based files: the log, the asciinema recording).
   */
  constructor(
    readonly path: string,
    private note: (bytesLeftOut: number) => string,
    private opts: { headBytes?: number; tailBytes?: number; align?: boolean } = {},
  ) {
    this.stream = createWriteStream(path);
    this.stream.on('error', (e) => {
      this.error ??= e;
    });
  }

  write(data: string | Buffer): void {
    if (this.closed || this.error) return;
    const b = typeof data === 'string' ? Buffer.from(data) : data;
    if (this.tailSize === 0 && this.written + b.length <= (this.opts.headBytes ?? TRANSCRIPT_HEAD_BYTES)) {
      this.written += b.length;
      this.stream.write(b);
      return;
    }
    this.tail.push(b);
    this.tailSize += b.length;
    const max = this.opts.tailBytes ?? TRANSCRIPT_TAIL_BYTES;
    while (this.tail.length > 1 && this.tailSize - this.tail[0]!.length >= max) {
      this.left += this.tail[0]!.length;
      this.tailSize -= this.tail[0]!.length;
      this.tail.shift();
    }
  }

  /** Writes the kept tail (after the note, when something was left out) and closes the file. */
  end(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    if (!this.error && this.tail.length) {
      let rest = Buffer.concat(this.tail);
      if (this.left > 0) {
        if (this.opts.align) {
          const nl = rest.indexOf(10);
          if (nl >= 0) {
            this.left += nl + 1;
            rest = rest.subarray(nl + 1);
          }
        }
        this.stream.write(this.note(this.left));
      }
      this.stream.write(rest);
    }
    return new Promise((resolve) => this.stream.end(() => resolve()));
  }
}
