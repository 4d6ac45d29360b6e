// `--network internet` (#15 item 12): the policy (public addresses only, IANA's special-purpose
// blocks refused) and the relay QEMU's guestfwd runs per connection — the bundled
// dist/egress-relay.js run as QEMU runs it (the connection on its standard input and output),
// against real TCP servers on this machine's loopback.
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { proxyEnvCommand } from '../../src/egress/guest.js';
import { choose, notPublic, parseAllowed } from '../../src/egress/policy.js';
import { EGRESS_LOG_MAX_BYTES, parseRequest, relay } from '../../src/egress/relay.js';
import { PassThrough } from 'node:stream';
import { buildQemuArgv } from '../../src/qemu/argv.js';
import type { MachineSpec } from '../../src/qemu/spec.js';

describe('the policy: public addresses only', () => {
  it.each([
    ['127.0.0.1', 'loopback (127.0.0.0/8)'],
    ['10.0.2.2', 'private (10.0.0.0/8)'],
    ['172.17.0.1', 'private (172.16.0.0/12)'],
    ['192.168.1.10', 'private (192.168.0.0/16)'],
    ['169.254.169.254', 'link-local (169.254.0.0/16)'],
    ['100.100.100.200', 'shared address space (100.64.0.0/10)'],
    ['0.0.0.0', 'this network (0.0.0.0/8)'],
    ['203.0.113.80', 'documentation (203.0.113.0/24)'],
    ['224.0.0.251', 'multicast (224.0.0.0/4)'],
    ['255.255.255.255', 'reserved (240.0.0.0/4)'],
    ['::1', 'loopback (::1/128)'],
    ['::ffff:127.0.0.1', 'loopback (127.0.0.0/8)'],
    ['fd00:ec2::254', 'unique local (fc00::/7)'],
    ['fe80::1', 'link-local (fe80::/10)'],
    ['2001:db8::1', 'documentation (2001:db8::/32)'],
  ])('%s is refused: %s', (a, why) => expect(notPublic(a)).toBe(why));

  it.each(['151.101.1.91', '140.82.112.3', '1.1.1.1', '2a04:4e42::347', '2606:4700::1111'])('%s is public', (a) => expect(notPublic(a)).toBeUndefined());

  it('tries only the public addresses a name resolved to, IPv4 first (runners often have no IPv6 route), never a private one beside them', () => {
    expect(choose('cache.example', ['10.1.2.3', '151.101.1.91'])).toEqual({ ok: true, targets: [{ address: '151.101.1.91', why: 'public' }] });
    expect(choose('cache.nixos.org', ['2a04:4e42::347', '151.101.1.91', '151.101.65.91'])).toEqual({ ok: true, targets: [{ address: '151.101.1.91', why: 'public' }, { address: '151.101.65.91', why: 'public' }, { address: '2a04:4e42::347', why: 'public' }] });
    const v = choose('localhost', ['::1', '127.0.0.1']);
    expect(v.ok).toBe(false);
    expect(!v.ok && v.why).toBe('localhost is not on the public internet (::1: loopback (::1/128); 127.0.0.1: loopback (127.0.0.0/8)): with --network internet the VM reaches only public addresses; add it with --network-allow if the rehearsal needs it');
  });

  it('--network-allow lets one address or block through, and names a bad entry', () => {
    const allowed = parseAllowed(['10.1.0.0/16', '192.168.7.7']);
    expect(choose('attic.lan', ['10.1.9.9'], allowed)).toEqual({ ok: true, targets: [{ address: '10.1.9.9', why: 'allowed' }] });
    expect(choose('nas.lan', ['192.168.7.8'], allowed).ok).toBe(false);
    expect(() => parseAllowed(['cache.lan'])).toThrow("network-allow entry 'cache.lan' is not an IP address or ADDRESS/PREFIX block (e.g. 10.1.2.3 or 10.1.0.0/16)");
    expect(() => parseAllowed(['10.0.0.0/33'])).toThrow(/'10\.0\.0\.0\/33' is not/);
  });
});

describe('parseRequest', () => {
  it('reads CONNECT host:port, IPv6 literals too', () => {
    expect(parseRequest('CONNECT cache.nixos.org:443 HTTP/1.1\r\nHost: cache.nixos.org:443')).toEqual({ method: 'CONNECT', host: 'cache.nixos.org', port: 443 });
    expect(parseRequest('CONNECT [2a04:4e42::347]:443 HTTP/1.1')).toMatchObject({ host: '2a04:4e42::347', port: 443 });
  });
  it('turns an absolute http:// request into origin form without the Proxy-* headers', () => {
    const r = parseRequest('GET http://example.org:8080/nix-cache-info?x=1 HTTP/1.1\r\nHost: example.org:8080\r\nProxy-Authorization: Basic c2VjcmV0\r\nProxy-Connection: keep-alive\r\nAccept: */*');
    expect(r).toMatchObject({ method: 'GET', host: 'example.org', port: 8080 });
    expect(r.forward!.toString()).toBe('GET /nix-cache-info?x=1 HTTP/1.1\r\nHost: example.org:8080\r\nAccept: */*\r\n\r\n');
  });
  it('refuses what is not a proxy request, saying what it got', () => {
    expect(() => parseRequest('SSH-2.0-OpenSSH_10.0')).toThrow('not an HTTP/1 proxy request: "SSH-2.0-OpenSSH_10.0"');
    expect(() => parseRequest('CONNECT cache.nixos.org HTTP/1.1')).toThrow('CONNECT needs host:port, got "cache.nixos.org"');
    expect(() => parseRequest('GET /index.html HTTP/1.1')).toThrow(/needs an absolute http:\/\/ URL/);
  });
});

describe('dist/egress-relay.js, one connection on its standard input and output', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nr-egress-'));
  const log = path.join(dir, 'egress.log');
  let server: net.Server;
  let port: number;
  const seen: string[] = [];
  beforeAll(async () => {
    // An echo server that also records what it was sent first.
    server = net.createServer((s) => {
      s.once('data', (d) => seen.push(d.toString()));
      s.pipe(s);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as net.AddressInfo).port;
  });
  afterAll(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Sends `request`, then `then` once the relay answered; returns everything the relay wrote. */
  async function through(request: string, allow: string[] = [], then?: string): Promise<string> {
    const p = execa('node', ['dist/egress-relay.js', '--log', log, ...allow.flatMap((a) => ['--allow', a])], { reject: false, timeout: 20_000 });
    let out = '';
    p.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (then && out.includes('\r\n\r\n')) {
        p.stdin!.write(then);
        then = undefined;
        setTimeout(() => p.stdin!.end(), 300);
      }
    });
    p.stdin!.write(request);
    if (!then) setTimeout(() => p.stdin!.end(), 2000);
    const r = await p;
    expect(r.exitCode, r.stderr).toBe(0);
    return out;
  }
  const lastLog = () => JSON.parse(readFileSync(log, 'utf8').trim().split('\n').at(-1)!) as Record<string, unknown>;

  it("refuses the runner's loopback (what 10.0.2.2 is under QEMU's NAT) with 403 and the reason, and logs it", async () => {
    const out = await through(`CONNECT 127.0.0.1:${port} HTTP/1.1\r\n\r\n`);
    expect(out).toMatch(/^HTTP\/1\.1 403 Forbidden\r\n/);
    expect(out).toContain('127.0.0.1 is not on the public internet (127.0.0.1: loopback (127.0.0.0/8))');
    expect(lastLog()).toMatchObject({ method: 'CONNECT', host: '127.0.0.1', port, verdict: 'refused' });
  });

  it('resolves names on the runner and refuses one that resolves to loopback (localhost)', async () => {
    const out = await through(`CONNECT localhost:${port} HTTP/1.1\r\n\r\n`);
    expect(out).toMatch(/^HTTP\/1\.1 403 Forbidden\r\n[\s\S]*localhost is not on the public internet \((::1|127\.0\.0\.1): loopback/);
  });

  it('refuses the cloud metadata service without connecting', async () => {
    const out = await through('GET http://169.254.169.254/metadata/instance HTTP/1.1\r\nHost: 169.254.169.254\r\n\r\n');
    expect(out).toMatch(/^HTTP\/1\.1 403 Forbidden[\s\S]*link-local \(169\.254\.0\.0\/16\)/);
  });

  it('an allowed address: CONNECT answers 200 and the bytes go both ways', async () => {
    const out = await through(`CONNECT 127.0.0.1:${port} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`, ['127.0.0.1'], 'ping through the tunnel');
    expect(out).toBe('HTTP/1.1 200 Connection established\r\n\r\nping through the tunnel');
    expect(lastLog()).toMatchObject({ method: 'CONNECT', address: '127.0.0.1', verdict: 'allowed' });
  });

  it('an allowed address: a plain http:// request goes on in origin form, without its Proxy-Authorization', async () => {
    seen.length = 0;
    const out = await through(`GET http://127.0.0.1:${port}/nix-cache-info HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nProxy-Authorization: Basic c2VjcmV0\r\n\r\n`, ['127.0.0.0/8']);
    expect(seen[0]).toBe(`GET /nix-cache-info HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
    expect(out).toBe(seen[0]); // the echo server's answer came back
  });

  it('falls back to the next address when one does not answer (IPv4 refused, IPv6 listening), and says which it reached', async () => {
    const v6 = net.createServer((s) => s.pipe(s));
    v6.listen(0, '::1');
    await once(v6, 'listening');
    const p6 = (v6.address() as net.AddressInfo).port;
    const input = new PassThrough();
    const output = new PassThrough();
    let got = '';
    output.on('data', (d: Buffer) => (got += d.toString()));
    const done = relay(input, output, { log, allowed: parseAllowed(['127.0.0.1', '::1']), resolve: async () => ['::1', '127.0.0.1'] });
    input.write(`CONNECT dual.example:${p6} HTTP/1.1\r\n\r\nthrough v6`);
    await new Promise((r) => setTimeout(r, 500));
    input.end();
    await done;
    v6.close();
    expect(got).toBe('HTTP/1.1 200 Connection established\r\n\r\nthrough v6');
    expect(lastLog()).toMatchObject({ host: 'dual.example', address: '::1', verdict: 'allowed' });
  });

  it('the egress log is bounded: at its limit one last line says so, and nothing more is written', async () => {
    const big = path.join(dir, 'big.log');
    writeFileSync(big, '');
    truncateSync(big, EGRESS_LOG_MAX_BYTES - 10);
    const ask = async () => {
      const input = new PassThrough();
      const output = new PassThrough();
      output.resume();
      const done = relay(input, output, { log: big });
      input.end(`CONNECT 127.0.0.1:${port} HTTP/1.1\r\n\r\n`);
      await done;
    };
    await ask();
    const size = statSync(big).size;
    expect(readFileSync(big, 'utf8').slice(EGRESS_LOG_MAX_BYTES - 10)).toMatch(/^\{"time":"[^"]+","verdict":"log-full","why":"the egress log reached 8388608 bytes: later requests are not logged"\}\n$/);
    await ask();
    expect(statSync(big).size).toBe(size);
  });

  it('answers 400 to what is not a proxy request', async () => {
    expect(await through('SSH-2.0-OpenSSH_10.0\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 Bad Request[\s\S]*not an HTTP\/1 proxy request/);
  });
});

describe('the VM side', () => {
  const spec = (network: MachineSpec['network'], egress?: MachineSpec['egress']): MachineSpec => ({
    name: 't', memoryMiB: 512, cpus: 1, accel: 'tcg', firmware: { code: '/c.fd', vars: '/v.fd' }, disks: [], network, egress,
    sockets: { serial: '/s', control: '/c', qmp: '/q' }, sshHostPort: 2222,
  });
  const netdev = (s: MachineSpec) => { const a = buildQemuArgv(s); return a[a.indexOf('-netdev') + 1]; };

  it('network public: restrict=on and one guestfwd to the relay, its words quoted and commas doubled', () => {
    expect(netdev(spec('public', { command: ['/usr/bin/node', '/opt/a,b/egress-relay.js', '--log', "/tmp/it's/egress.log"] }))).toBe(
      "user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:2222-10.0.2.15:22,guestfwd=tcp:10.0.2.100:3128-cmd:'/usr/bin/node' '/opt/a,,b/egress-relay.js' '--log' '/tmp/it'\\''s/egress.log'",
    );
    expect(() => buildQemuArgv(spec('public'))).toThrow(/needs the egress relay command/);
  });

  it("the guest's shell gets the proxy, and so do services started after it", () => {
    const c = proxyEnvCommand();
    expect(c).toMatch(/^export http_proxy=http:\/\/10\.0\.2\.100:3128 https_proxy=http:\/\/10\.0\.2\.100:3128 HTTP_PROXY=\S+ HTTPS_PROXY=\S+ no_proxy=127\.0\.0\.1,localhost,::1 NO_PROXY=\S+; systemctl set-environment /);
    expect(c).toContain('systemctl try-restart nix-daemon.service');
  });
});
