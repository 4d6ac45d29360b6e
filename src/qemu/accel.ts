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
export function probeKernel(): Buffer {
  const load = 0x100000;
  const entryOffset = 0x20;
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
    0xb0, PROBE_CODE, // mov al, PROBE_CODE
    0xe6, 0xf4, // out 0xf4, al
    0xf4, // hlt
    0xeb, 0xfd, // jmp back to hlt
  ]);
  const img = Buffer.alloc(512);
  hdr.copy(img, 0);
  code.copy(img, entryOffset);
  return img;
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
  if (requested === 'tcg') {
    return { accel: 'tcg', reason: 'TCG was asked for', kvm: { usable: false, reason: 'not probed: TCG was asked for' } };
  }
  const kvm = await probeKvm(qemu);
  if (kvm.usable) return { accel: 'kvm', reason: kvm.reason, kvm };
  if (requested === 'kvm') throw new Error(`KVM was asked for but is not usable: ${kvm.reason}`);
  return { accel: 'tcg', reason: `no KVM: ${kvm.reason}; using TCG (software emulation, timeouts scaled)`, kvm };
}

/** One factor scales every timeout under TCG (the idea of openQA's TIMEOUT_SCALE). */
export function timeoutScale(accel: Accel, env: NodeJS.ProcessEnv = process.env): number {
  const v = env.NIXOS_REHEARSE_TIMEOUT_SCALE;
  if (v !== undefined && v !== '') {
    const n = Number(v);
    if (!(n > 0)) throw new Error(`NIXOS_REHEARSE_TIMEOUT_SCALE must be a positive number, got ${JSON.stringify(v)}`);
    return n;
  }
  return accel === 'kvm' ? 1 : 5;
}
