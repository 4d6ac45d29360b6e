// The VM's one way out in `--network internet` mode (#15 item 12): an HTTP proxy for one
// connection. QEMU's user network runs with restrict=on (the guest reaches neither the runner
// nor the outside) and one guestfwd, 10.0.2.100:3128, whose `cmd:` starts this program for each
// connection the guest opens, with the connection as its standard input and output (QEMU's
// -netdev user documentation). It reads one request — CONNECT host:port (HTTPS, git) or an
// absolute-form http:// request (plain HTTP) — resolves the name on the runner, and connects
// only to a public address (egress/policy.ts) or one the user allowed; anything else gets 403
// with the reason. Each decision is one JSON line in the run's egress log.
import { appendFileSync, existsSync, statSync } from 'node:fs';
import { lookup } from 'node:dns/promises';
import net from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { type Allowed, type Target, choose } from './policy.js';

const MAX_HEAD = 16 * 1024;

export interface Request {
  method: string;
  host: string;
  port: number;
  /** For a plain HTTP request: the head to send on, in origin form without the Proxy-* headers. */
  forward?: Buffer;
}

/** One request head (pure): CONNECT host:port, or METHOD http://host[:port]/path. Throws why it is not one. */
export function parseRequest(head: string): Request {
  const [line = '', ...headers] = head.split('\r\n');
  const m = /^([A-Z]+) (\S+) HTTP\/1\.[01]$/.exec(line);
  if (!m) throw new Error(`not an HTTP/1 proxy request: ${JSON.stringify(line.slice(0, 200))}`);
  const [, method, target] = m as unknown as [string, string, string];
  if (method === 'CONNECT') {
    const t = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+):(\d{1,5})$/.exec(target);
    if (!t || Number(t[2]) < 1 || Number(t[2]) > 65535) throw new Error(`CONNECT needs host:port, got ${JSON.stringify(target.slice(0, 200))}`);
    return { method, host: t[1]!.replace(/^\[|\]$/g, ''), port: Number(t[2]) };
  }
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    throw new Error(`a plain HTTP request through the proxy needs an absolute http:// URL, got ${JSON.stringify(target.slice(0, 200))}`);
  }
  if (url.protocol !== 'http:') throw new Error(`only http:// URLs go through as plain requests (HTTPS uses CONNECT), got ${url.protocol}`);
  const kept = headers.filter((h) => h && !/^proxy-/i.test(h));
  const forward = Buffer.from(`${method} ${url.pathname}${url.search} HTTP/1.1\r\n${kept.join('\r\n')}\r\n\r\n`);
  return { method, host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 80), forward };
}

function respond(out: Writable, status: string, text: string): void {
  out.end(`HTTP/1.1 ${status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text) + 1}\r\nConnection: close\r\n\r\n${text}\n`);
}

/** Reads up to the end of the request head; what came after it stays for the connection. */
function readHead(input: Readable, ms: number): Promise<{ head: string; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const done = (e?: Error, v?: { head: string; rest: Buffer }) => {
      clearTimeout(timer);
      input.off('data', onData).off('end', onEnd).off('error', onEnd);
      if (e) reject(e);
      else resolve(v!);
    };
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const i = buf.indexOf('\r\n\r\n');
      if (i >= 0) {
        input.pause();
        done(undefined, { head: buf.subarray(0, i).toString('latin1'), rest: buf.subarray(i + 4) });
      } else if (buf.length > MAX_HEAD) done(new Error(`the request head is over ${MAX_HEAD} bytes`));
    };
    const onEnd = () => done(new Error('the connection closed before a whole request head'));
    const timer = setTimeout(() => done(new Error(`no request head within ${ms / 1000} s`)), ms);
    input.on('data', onData).on('end', onEnd).on('error', onEnd);
  });
}

/** Connects to the first target that answers, in order; what each failed one said. */
async function connectFirst(targets: readonly Target[], port: number, ms: number): Promise<{ socket?: net.Socket; address?: Target; failures: string[] }> {
  const failures: string[] = [];
  for (const t of targets) {
    const r = await new Promise<net.Socket | Error>((resolve) => {
      const s = net.connect({ host: t.address, port });
      s.setTimeout(ms, () => s.destroy(new Error(`no answer within ${ms / 1000} s`)));
      s.once('connect', () => {
        s.setTimeout(0);
        s.removeAllListeners('error');
        resolve(s);
      });
      s.once('error', (e) => resolve(e));
    });
    if (!(r instanceof Error)) return { socket: r, address: t, failures };
    failures.push(`${t.address}: ${r.message}`);
  }
  return { failures };
}

export interface RelayOptions {
  allowed?: Allowed;
  /** The run's egress log: one JSON line per request. */
  log?: string;
  /** The runner's resolver, replaceable in tests. */
  resolve?: (host: string) => Promise<string[]>;
  timeoutMs?: number;
}

const resolveAll = async (host: string) => (net.isIP(host) ? [host] : (await lookup(host, { all: true, verbatim: true })).map((a) => a.address));

/** The egress log's bound (#15 item 7): past it, one last line says so and the rest goes unlogged. */
export const EGRESS_LOG_MAX_BYTES = 8 * 2 ** 20;

function note(o: RelayOptions, entry: Record<string, unknown>): void {
  if (!o.log) return;
  try {
    const size = existsSync(o.log) ? statSync(o.log).size : 0;
    if (size >= EGRESS_LOG_MAX_BYTES) return;
    const line = `${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`;
    const full = size + line.length >= EGRESS_LOG_MAX_BYTES;
    appendFileSync(o.log, full ? `${JSON.stringify({ time: new Date().toISOString(), verdict: 'log-full', why: `the egress log reached ${EGRESS_LOG_MAX_BYTES} bytes: later requests are not logged` })}\n` : line);
  } catch {
    // The log is evidence, not a gate: a full disk must not break the guest's download.
  }
}

/** Serves one proxied connection from `input`/`output` (the guest's); resolves when it is over. */
export async function relay(input: Readable, output: Writable, o: RelayOptions = {}): Promise<void> {
  const ms = o.timeoutMs ?? 30_000;
  let req: Request;
  let rest: Buffer;
  try {
    const h = await readHead(input, ms);
    rest = h.rest;
    req = parseRequest(h.head);
  } catch (e) {
    note(o, { verdict: 'bad-request', why: (e as Error).message });
    respond(output, '400 Bad Request', (e as Error).message);
    return;
  }
  const target = { method: req.method, host: req.host, port: req.port };
  let addresses: string[] = [];
  try {
    addresses = await (o.resolve ?? resolveAll)(req.host);
  } catch (e) {
    note(o, { ...target, verdict: 'unresolved', why: (e as Error).message });
    respond(output, '502 Bad Gateway', `${req.host} could not be resolved on the runner: ${(e as Error).message}`);
    return;
  }
  const v = choose(req.host, addresses, o.allowed);
  if (!v.ok) {
    note(o, { ...target, addresses, verdict: 'refused', why: v.why });
    respond(output, '403 Forbidden', v.why);
    return;
  }
  const { socket: up, address, failures } = await connectFirst(v.targets, req.port, ms);
  if (!up) {
    note(o, { ...target, verdict: 'unreachable', why: failures.join('; ') });
    respond(output, '502 Bad Gateway', `${req.host} port ${req.port} could not be reached from the runner: ${failures.join('; ')}`);
    return;
  }
  note(o, { ...target, address: address!.address, verdict: address!.why });
  if (req.forward) up.write(req.forward);
  else output.write('HTTP/1.1 200 Connection established\r\n\r\n');
  if (rest.length) up.write(rest);
  await new Promise<void>((resolve) => {
    up.once('close', () => resolve());
    up.once('error', () => output.end());
    input.once('error', () => up.destroy());
    input.pipe(up);
    up.pipe(output);
  });
}
