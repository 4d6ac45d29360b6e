// Chooses the accelerator. KVM is used only when it really runs a guest: on some hosts
// /dev/kvm opens and KVM_CREATE_VM succeeds, yet the guest dies at its first x87 instruction
// ("KVM internal error. Suberror: 1"). So the probe boots a 64-byte multiboot guest that
// executes x87 and SSE instructions and leaves through the isa-debug-exit port with a known
// code; anything else (no /dev/kvm, no permission, an internal error, a hang) is a refusal
// with its reason, and the engine falls back to TCG and says so.
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import type { Accel } from './spec.js';

/** Exit status QEMU returns when the probe guest writes PROBE_CODE to isa-debug-exit: (v<<1)|1. */
export const PROBE_CODE = 0x31;
export const PROBE_EXIT = (PROBE_CODE << 1) | 1;

/**
 * A multiboot (v1) kernel with the "a.out kludge" header, loaded at 1 MiB, entered in 32-bit
 * protected mode by QEMU's multiboot loader. Code: fninit; fld1; fstp st0 (x87);
 * mov eax,cr4 / or eax,0x600 / mov cr4,eax (enable SSE); xorps xmm0,xmm0 (SSE);
 * mov al,PROBE_CODE; out 0xf4,al (isa-debug-exit); then hlt in a loop.
 */
/** Where the code starts in a probe kernel (right after the multiboot header). */
const ENTRY_OFFSET = 0x20;

/** How every probe kernel ends: mov al,PROBE_CODE; out 0xf4,al (isa-debug-exit); hlt in a loop. */
const EXIT_CODE = [
  0xb0, PROBE_CODE, // mov al, PROBE_CODE
  0xe6, 0xf4, // out 0xf4, al
  0xf4, // hlt
  0xeb, 0xfd, // jmp back to hlt
];

export function probeKernel(): Buffer {
  const load = 0x100000;
  const entryOffset = ENTRY_OFFSET;
  const magic = 0x1badb002;
  const flags = 0x00010000; // bit 16: use the address fields below (no ELF needed)
  const hdr = Buffer.alloc(entryOffset);
  hdr.writeUInt32LE(magic, 0);
  hdr.writeUInt32LE(flags, 4);
  hdr.writeUInt32LE((-(magic + flags)) >>> 0, 8);
  hdr.writeUInt32LE(load, 12); // header_addr
  hdr.writeUInt32LE(load, 16); // load_addr
  hdr.writeUInt32LE(0, 20); // load_end_addr: whole file
  hdr.writeUInt32LE(0, 24); // bss_end_addr: none
  hdr.writeUInt32LE(load + entryOffset, 28); // entry_addr
  const code = Buffer.from([
    0xdb, 0xe3, // fninit
    0xd9, 0xe8, // fld1
    0xdd, 0xd8, // fstp st(0)
    0x0f, 0x20, 0xe0, // mov eax, cr4
    0x0d, 0x00, 0x06, 0x00, 0x00, // or eax, 0x600 (OSFXSR | OSXMMEXCPT)
    0x0f, 0x22, 0xe0, // mov cr4, eax
    0x0f, 0x57, 0xc0, // xorps xmm0, xmm0
    ...EXIT_CODE,
  ]);
  const img = Buffer.alloc(512);
  hdr.copy(img, 0);
  code.copy(img, entryOffset);
  return img;
}

/**
 * The speed probe: the same multiboot kernel, whose code first runs a fixed workload — `rounds`
 * sweeps over 16 MiB, one read-modify-write per 4 KiB page (the soft-MMU path every guest
 * memory access takes under TCG) — then exits like the probe. Its run time against
 * SPEED_REFERENCE_MS is how slow this machine's TCG is today.
 */
export function speedKernel(rounds = SPEED_ROUNDS): Buffer {
  const img = probeKernel();
  const code = Buffer.from([
    0xb9, ...u32(rounds), // mov ecx, rounds
    // outer:
    0xbe, ...u32(0x200000), // mov esi, 2 MiB
    0xba, ...u32(4096), // mov edx, 4096 pages
    // inner:
    0x01, 0x0e, // add [esi], ecx
    0x81, 0xc6, ...u32(0x1000), // add esi, 4096
    0x4a, // dec edx
    0x75, 0xf5, // jnz inner
    0x49, // dec ecx
    0x75, 0xe8, // jnz outer
    ...EXIT_CODE,
  ]);
  code.copy(img, ENTRY_OFFSET);
  return img;
}

function u32(n: number): number[] {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return [...b];
}

/** Sweeps of the speed probe. */
export const SPEED_ROUNDS = 1_000;
/**
 * The speed probe's run time under TCG on this project's CI machine (2 cores, QEMU 7.2) on the
 * slow day issue #11 measured (the fixture installer took ~60 s to boot; 2026-12-01, median of
 * 3): the speed factor 1. test/vm/budget.json's budgets are that day's times; a day twice as
 * slow has factor 2 and gets twice the time for every wait.
 */
export const SPEED_REFERENCE_MS = 675;

export interface SpeedMeasure {
  /** The probe's time over the reference: 1 = as fast as the reference day, 3 = three times slower. */
  factor: number;
  probeMs: number;
  referenceMs: number;
}

let measured: SpeedMeasure | undefined;

/** Runs the speed probe under TCG (best of `runs`, minus QEMU's own start-up); remembered for the process. */
export async function measureSpeed(qemu: string, runs = 2): Promise<SpeedMeasure> {
  if (measured) return measured;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nixos-rehearse-speed-'));
  try {
    const timed = async (file: string) => {
      const t0 = performance.now();
      const r = await execa(qemu, probeArgv('tcg', file), { reject: false, timeout: 120_000, stdin: 'ignore' });
      if (r.exitCode !== PROBE_EXIT) throw new Error(`the TCG speed probe exited with ${r.exitCode ?? r.signal}: ${String(r.stderr).split('\n')[0]}`);
      return performance.now() - t0;
    };
    const empty = path.join(dir, 'empty.bin');
    const work = path.join(dir, 'speed.bin');
    writeFileSync(empty, probeKernel());
    writeFileSync(work, speedKernel());
    let best = Infinity;
    for (let i = 0; i < runs; i++) best = Math.min(best, (await timed(work)) - (await timed(empty)));
    const probeMs = Math.max(1, Math.round(best));
    measured = { factor: Math.round((probeMs / SPEED_REFERENCE_MS) * 100) / 100, probeMs, referenceMs: SPEED_REFERENCE_MS };
    return measured;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The speed measured in this process, if it was. */
export function measuredSpeed(): SpeedMeasure | undefined {
  return measured;
}

export function probeArgv(accel: Accel, kernelPath: string): string[] {
  return [
    '-machine', `pc,accel=${accel}`,
    '-cpu', accel === 'kvm' ? 'host' : 'max',
    '-m', '32M', '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
    '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04',
    '-kernel', kernelPath,
  ];
}

export interface AccelDecision {
  accel: Accel;
  /** Why this accelerator: for the report and `doctor`. */
  reason: string;
  kvm: { usable: boolean; reason: string };
  /** Under TCG: how slow this machine is today (measureSpeed); scales every timeout. */
  speed?: SpeedMeasure;
  /** The factor every wait is multiplied by (timeoutScale). */
  timeoutScale: number;
}

/** Runs the probe guest under `accel`; returns undefined when it worked, else why not. */
export async function probeGuest(qemu: string, accel: Accel, timeoutMs = 20_000): Promise<string | undefined> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nixos-rehearse-probe-'));
  try {
    const k = path.join(dir, 'probe.bin');
    writeFileSync(k, probeKernel());
    const r = await execa(qemu, probeArgv(accel, k), { reject: false, timeout: timeoutMs, all: true, stdin: 'ignore' });
    if (r.exitCode === PROBE_EXIT) return undefined;
    const out = (r.all ?? '').trim();
    const first = out.split('\n').find((l) => /error|fail|denied|not|unsupported/i.test(l)) ?? out.split('\n')[0] ?? '';
    if (r.timedOut) return `the ${accel} probe guest did not finish in ${timeoutMs / 1000}s${first ? `: ${first}` : ''}`;
    return `the ${accel} probe guest exited with ${r.exitCode ?? r.signal}${first ? `: ${first}` : ''}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function probeKvm(qemu: string, devKvm = '/dev/kvm'): Promise<{ usable: boolean; reason: string }> {
  try {
    accessSync(devKvm, constants.R_OK | constants.W_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return {
      usable: false,
      reason: code === 'ENOENT' ? `${devKvm} does not exist (no hardware virtualisation, or the kvm module is not loaded)` : `${devKvm} is not read-writable by this user (${code}): add the user to group kvm`,
    };
  }
  const why = await probeGuest(qemu, 'kvm');
  return why ? { usable: false, reason: `${devKvm} opens, but ${why}` } : { usable: true, reason: 'a probe guest ran under KVM' };
}

/** requested: 'auto' probes KVM and falls back to TCG; 'kvm' insists; 'tcg' skips the probe. */
export async function chooseAccel(qemu: string, requested: Accel | 'auto' = 'auto'): Promise<AccelDecision> {
  const tcg = async (reason: string, kvm: AccelDecision['kvm']): Promise<AccelDecision> => {
    const speed = await measureSpeed(qemu);
    return { accel: 'tcg', reason, kvm, speed, timeoutScale: timeoutScale('tcg') };
  };
  if (requested === 'tcg') return tcg('TCG was asked for', { usable: false, reason: 'not probed: TCG was asked for' });
  const kvm = await probeKvm(qemu);
  if (kvm.usable) return { accel: 'kvm', reason: kvm.reason, kvm, timeoutScale: timeoutScale('kvm') };
  if (requested === 'kvm') throw new Error(`KVM was asked for but is not usable: ${kvm.reason}`);
  return tcg(`no KVM: ${kvm.reason}; using TCG (software emulation, timeouts scaled)`, kvm);
}

/**
 * One factor scales every timeout (the idea of openQA's TIMEOUT_SCALE): 5 under TCG, times the
 * measured speed factor when this machine's TCG is slower than the reference (never less), so
 * a slow day waits longer instead of failing; NIXOS_REHEARSE_TIMEOUT_SCALE overrides it.
 */
export function timeoutScale(accel: Accel, env: NodeJS.ProcessEnv = process.env, speed: SpeedMeasure | undefined = measured): number {
  const v = env.NIXOS_REHEARSE_TIMEOUT_SCALE;
  if (v !== undefined && v !== '') {
    const n = Number(v);
    if (!(n > 0)) throw new Error(`NIXOS_REHEARSE_TIMEOUT_SCALE must be a positive number, got ${JSON.stringify(v)}`);
    return n;
  }
  if (accel === 'kvm') return 1;
  return Math.round(5 * Math.max(1, speed?.factor ?? 1) * 10) / 10;
}
