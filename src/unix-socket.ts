// Connecting to a Unix socket that QEMU creates as it starts (chardevs, QMP): retry until it
// exists and accepts, or the deadline passes.
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export async function connectUnix(path: string, timeoutMs: number, what: string): Promise<net.Socket> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await new Promise<net.Socket>((resolve, reject) => {
        const s = net.createConnection(path);
        s.once('connect', () => resolve(s));
        s.once('error', reject);
      });
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`cannot connect to ${what} at ${path}: ${(e as Error).message}`);
      await sleep(50);
    }
  }
}
