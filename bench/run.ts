// npm run bench: (1) console matching throughput on a 50 MB noisy stream, (2) the harness's
// overhead as a ratio against bare QEMU running the same guest workload, both in this run.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { Console } from '../src/console/console.js';
import { OUTPUT_HEAD, OUTPUT_TAIL } from '../src/console/protocol.js';
import { Shell } from '../src/console/shell.js';
import { GUEST_PROMPT, buildTestGuest, testGuestOptions } from '../src/guest.js';
import { chooseAccel } from '../src/qemu/accel.js';
import { buildQemuArgv } from '../src/qemu/argv.js';
import { findFirmware } from '../src/qemu/firmware.js';
import { Machine } from '../src/qemu/machine.js';
import { qemuBinary } from '../src/qemu/tools.js';

const MB = 1024 * 1024;

/** Serial-console-like noise: kernel lines, colour codes, ESC[6n, CRLF. */
function noisyStream(bytes: number): Buffer[] {
  const lines = [
    '[   12.345678] nvme nvme0: 2/0/0 default/read/poll queues\r\n',
    '\x1b[0;32m[  OK  ]\x1b[0m Started \x1b[0;1;39msshd.service\x1b[0m - SSH Daemon.\r\n',
    '[root@nixos:~]# \x1b[6nzpool status -x\r\n',
    'all pools are healthy\r\n',
    'copying path \x27/nix/store/abc123-glibc-2.40\x27 from \x27https://cache.nixos.org\x27...\r\n',
  ];
  const block = Buffer.from(lines.join('').repeat(Math.ceil(64 * 1024 / lines.join('').length)));
  const chunks: Buffer[] = [];
  let n = 0;
  while (n < bytes) {
    // Socket reads arrive in odd sizes: cut the block at a varying place.
    const cut = 4096 + ((n / 4096) % 61) * 977;
    const c = block.subarray(0, Math.min(cut, bytes - n));
    chunks.push(c);
    n += c.length;
  }
  return chunks;
}

async function consoleThroughput(size = 50 * MB) {
  const chunks = noisyStream(size);
  const total = chunks.reduce((a, c) => a + c.length, 0);
  const con = new Console({ name: 'bench' });
  const marker = `END-${randomBytes(4).toString('hex')}`;
  const t0 = process.hrtime.bigint();
  const found = con.waitFor(new RegExp(`${marker} exit=(\\d+)`), 600_000);
  for (const c of chunks) con.feed(c);
  con.feed(`${marker} exit=0\r\n`);
  await found;
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  // The most one command's output frame carries (the guest side keeps its head and tail, #15
  // item 7; a larger frame is refused as a protocol error) through the shell protocol (base64),
  // fed in 64 KiB reads.
  const payload = Buffer.concat(chunks).subarray(0, OUTPUT_HEAD + OUTPUT_TAIL);
  const con2 = new Console({ name: 'bench-frame' });
  const b64 = Buffer.from(`nrabcdef012345x\n${payload.toString('base64')}\n0:012345xnrabcdef\n`);
  // The "guest" answers once the command's last line is typed, as a real one does.
  con2.attachSink((d) => {
    if (String(d).includes('rm -f')) setImmediate(() => {
      for (let o = 0; o < b64.length; o += 65536) con2.feed(b64.subarray(o, o + 65536));
    });
  });
  const shell = new Shell(con2, { timeoutMs: 600_000, nonce: () => 'abcdef012345' });
  const t1 = process.hrtime.bigint();
  const out = await shell.run('cat big');
  const s2 = Number(process.hrtime.bigint() - t1) / 1e9;
  if (createHash('sha256').update(out.output).digest('hex') !== createHash('sha256').update(payload.toString('utf8')).digest('hex')) throw new Error('frame output corrupted');
  return { mb: total / MB, seconds: s, mbPerS: total / MB / s, frameMb: payload.length / MB, frameSeconds: s2, frameMbPerS: payload.length / MB / s2 };
}

async function overhead() {
  const guest = await buildTestGuest();
  const decision = await chooseAccel(qemuBinary(), 'auto');
  const fw = findFirmware();
  // The same guest work both ways: boot through OVMF, hash 64 MB, power off.
  const work = 'head -c 67108864 /dev/zero | sha256sum';
  const runs = Number(process.env.BENCH_RUNS ?? 3);
  const bare: number[] = [];
  const harness: number[] = [];
  for (let i = 0; i < runs; i++) {
    // Bare QEMU: the guest runs the work from its kernel command line and powers off.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'nixos-rehearse-bench-'));
    try {
      await execa('cp', [fw.vars, path.join(dir, 'vars.fd')]);
      const argv = buildQemuArgv({
        name: 'bare', memoryMiB: 512, cpus: 2, accel: decision.accel,
        firmware: { code: fw.code, vars: path.join(dir, 'vars.fd') }, disks: [],
        kernelBoot: { kernel: guest.kernel, initrd: guest.initrd, append: `${guest.cmdline} rehearse.run=${Buffer.from(work).toString('base64')}` },
        sockets: { serial: path.join(dir, 's'), control: path.join(dir, 'c'), qmp: path.join(dir, 'q') },
      });
      // Same devices, but the serial port goes to a file: nobody reads it.
      const i2 = argv.findIndex((a) => a.startsWith('socket,id=serial0,'));
      argv[i2] = `file,id=serial0,path=${path.join(dir, 'serial.log')}`;
      const t0 = Date.now();
      const r = await execa(qemuBinary(), argv, { reject: false, timeout: 600_000 });
      bare.push((Date.now() - t0) / 1000);
      const log = (await execa('cat', [path.join(dir, 'serial.log')], { reject: false })).stdout;
      if (!/rehearse\.run exit 0/.test(log)) throw new Error(`bare run failed (${r.exitCode}): ${r.stderr} ${log.slice(-500)}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // Through the harness: Machine, serial prompt, control shell, succeed(work), poweroff.
    const t0 = Date.now();
    // The same machine as the bare run: no disks.
    const m = await Machine.create({ ...testGuestOptions(guest, 'bench', decision.accel), disks: [] });
    try {
      await m.start();
      await m.waitForSerial(GUEST_PROMPT, 60);
      await m.connect();
      await m.succeed(work);
      await m.run('poweroff -f').catch(() => {});
      await m.waitForShutdown(60);
    } finally {
      await m.stop();
      rmSync(m.logDir, { recursive: true, force: true });
    }
    harness.push((Date.now() - t0) / 1000);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  return { accel: decision.accel, runs, bare, harness, ratio: median(harness) / median(bare) };
}

const c = await consoleThroughput(Number(process.env.BENCH_STREAM_MB ?? 50) * MB);
console.log(`console matching: ${c.mb.toFixed(1)} MB noisy serial stream in ${c.seconds.toFixed(2)} s = ${c.mbPerS.toFixed(1)} MB/s`);
console.log(`shell frame:      ${c.frameMb.toFixed(1)} MB command output (base64 frame, the most one carries) in ${c.frameSeconds.toFixed(2)} s = ${c.frameMbPerS.toFixed(1)} MB/s`);
const o = await overhead();
console.log(`harness overhead (${o.accel}, ${o.runs} runs, boot + 64 MB sha256 + power-off):`);
console.log(`  bare QEMU: ${o.bare.map((x) => x.toFixed(1)).join(', ')} s`);
console.log(`  harness:   ${o.harness.map((x) => x.toFixed(1)).join(', ')} s`);
console.log(`  ratio (median harness / median bare): ${o.ratio.toFixed(2)}x`);
// (3) TCG tuning and the saved installer, as ratios (bench/tcg-tuning.ts); BENCH_TCG=0 skips it.
if (process.env.BENCH_TCG !== '0') {
  const { tcgTuning } = await import('./tcg-tuning.js');
  await tcgTuning();
}
// (4) Upgrade mode: a fresh install run against a warm upgrade run (bench/upgrade.ts, ~20 min
// under TCG), only with BENCH_UPGRADE=1.
if (process.env.BENCH_UPGRADE === '1') {
  const { upgradeBench } = await import('./upgrade.js');
  await upgradeBench(process.env.BENCH_UPGRADE_LAYOUT ?? 'zfs');
}
