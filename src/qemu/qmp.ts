// A small QMP client (QEMU Machine Protocol: JSON lines over a Unix socket).
// Used for: `cont` after the consoles are attached, graceful `system_powerdown`, `quit`,
// `device_del` (hot-unplug), and the RESET/SHUTDOWN events that tell us the guest rebooted.
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { RehearseError } from '../errors.js';
import { connectUnix } from '../unix-socket.js';

export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

export class QmpError extends Error {
  constructor(
    readonly command: string,
    readonly errorClass: string,
    desc: string,
  ) {
    super(`QMP ${command} failed: ${errorClass}: ${desc}`);
    this.name = 'QmpError';
  }
}

/** QMP's socket closed under a command: QEMU went away (its exit is usually seen a moment later). */
export class QmpClosedError extends RehearseError {
  override name = 'QmpClosedError';
  constructor(readonly command: string) {
    super('qemu-exited', `QMP connection closed during ${command} (QEMU exited)`, { command });
  }
}

export class Qmp extends EventEmitter {
  private socket?: net.Socket;
  private buf = '';
  private nextId = 1;
  private pending = new Map<number, { command: string; resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private greeting?: (v: unknown) => void;
  readonly events: QmpEvent[] = [];
  closed = false;

  async connect(path: string, timeoutMs = 10_000): Promise<void> {
    this.socket = await connectUnix(path, timeoutMs, 'QMP');
    const hello = new Promise((r) => (this.greeting = r));
    this.socket.setEncoding('utf8');
    this.socket.on('data', (d: string) => this.onData(d));
    this.socket.on('error', () => {});
    this.socket.on('close', () => {
      this.closed = true;
      for (const p of this.pending.values()) p.reject(new QmpClosedError(p.command));
      this.pending.clear();
      this.emit('close');
    });
    await hello;
    await this.execute('qmp_capabilities');
  }

  private onData(d: string) {
    this.buf += d;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl).trim();
      this.buf = this.buf.slice(nl + 1);
      if (!line) continue;
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line);
      } catch {
        continue;
      }
      if ('QMP' in msg) this.greeting?.(msg);
      else if ('event' in msg) {
        const ev = msg as unknown as QmpEvent;
        this.events.push(ev);
        this.emit('event', ev);
        this.emit(ev.event, ev);
      } else if ('id' in msg) {
        const p = this.pending.get(msg.id as number);
        if (!p) continue;
        this.pending.delete(msg.id as number);
        if ('error' in msg) {
          const err = msg.error as { class: string; desc: string };
          p.reject(new QmpError(p.command, err.class, err.desc));
        } else p.resolve(msg.return);
      }
    }
  }

  execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T> {
    if (!this.socket || this.closed) return Promise.reject(new Error(`QMP is not connected (${command})`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { command, resolve: resolve as (v: unknown) => void, reject });
      this.socket!.write(`${JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}), id })}\n`);
    });
  }

  close(): void {
    this.socket?.destroy();
  }
}
