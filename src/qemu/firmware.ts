// Finds OVMF (UEFI firmware for QEMU): a code file and the matching variable-store template.
// The search order and the pairing rule are pure (unit-tested with a fake file system).
import { statSync } from 'node:fs';
import path from 'node:path';
import { RehearseError } from '../errors.js';

export interface FirmwarePair {
  code: string;
  vars: string;
  /** "4m" (3.5 MiB code + 528 KiB vars) or "2m" (1.9 MiB code + 128 KiB vars). */
  flash: '4m' | '2m';
  source: string;
}

interface Candidate {
  code: string;
  vars: string;
  source: string;
}

/**
 * Where each distribution puts OVMF, 4 MB builds first. A code file must be used with the vars
 * template of the same build: a 4 MB code with a 2 MB vars file boots, but boot entries written
 * to the variable store silently go missing.
 */
export function firmwareCandidates(env: NodeJS.ProcessEnv = process.env, qemuShareDirs: string[] = []): Candidate[] {
  const c: Candidate[] = [];
  if (env.NIXOS_REHEARSE_OVMF_CODE && env.NIXOS_REHEARSE_OVMF_VARS) {
    c.push({ code: env.NIXOS_REHEARSE_OVMF_CODE, vars: env.NIXOS_REHEARSE_OVMF_VARS, source: 'NIXOS_REHEARSE_OVMF_CODE/_VARS' });
  }
  // Nix: `OVMF.fd` output (pkgs.OVMF.fd: FV/OVMF_CODE.fd + FV/OVMF_VARS.fd), if a shell exports it.
  for (const v of ['OVMF', 'OVMF_FD']) {
    const dir = env[v];
    if (dir) c.push({ code: path.join(dir, 'FV/OVMF_CODE.fd'), vars: path.join(dir, 'FV/OVMF_VARS.fd'), source: `$${v} (Nix)` });
  }
  c.push(
    // Debian 12+, Ubuntu 22.04+ (package ovmf)
    { code: '/usr/share/OVMF/OVMF_CODE_4M.fd', vars: '/usr/share/OVMF/OVMF_VARS_4M.fd', source: 'Debian/Ubuntu ovmf (4M)' },
    // Fedora, RHEL (package edk2-ovmf)
    { code: '/usr/share/edk2/ovmf/OVMF_CODE.fd', vars: '/usr/share/edk2/ovmf/OVMF_VARS.fd', source: 'Fedora edk2-ovmf' },
    // Arch (package edk2-ovmf)
    { code: '/usr/share/edk2/x64/OVMF_CODE.4m.fd', vars: '/usr/share/edk2/x64/OVMF_VARS.4m.fd', source: 'Arch edk2-ovmf (4m)' },
    { code: '/usr/share/edk2-ovmf/x64/OVMF_CODE.fd', vars: '/usr/share/edk2-ovmf/x64/OVMF_VARS.fd', source: 'Arch edk2-ovmf (old layout)' },
    // openSUSE (package qemu-ovmf-x86_64)
    { code: '/usr/share/qemu/ovmf-x86_64-4m-code.bin', vars: '/usr/share/qemu/ovmf-x86_64-4m-vars.bin', source: 'openSUSE qemu-ovmf-x86_64 (4m)' },
    // NixOS system profile with pkgs.OVMF.fd in environment.systemPackages
    { code: '/run/current-system/sw/FV/OVMF_CODE.fd', vars: '/run/current-system/sw/FV/OVMF_VARS.fd', source: 'NixOS system profile' },
    // Debian/Ubuntu 2 MB build (older releases only have this one)
    { code: '/usr/share/OVMF/OVMF_CODE.fd', vars: '/usr/share/OVMF/OVMF_VARS.fd', source: 'Debian/Ubuntu ovmf (2M)' },
  );
  // QEMU's own edk2 blobs (also how QEMU from Nix ships them: <qemu>/share/qemu/).
  for (const d of qemuShareDirs) {
    c.push({ code: path.join(d, 'edk2-x86_64-code.fd'), vars: path.join(d, 'edk2-i386-vars.fd'), source: `QEMU's edk2 (${d})` });
  }
  return c;
}

/** The flash size class of a code/vars pair, or why the pair is unusable. */
export function classifyPair(codeSize: number, varsSize: number): { flash: '4m' | '2m' } | { error: string } {
  const codeClass = codeSize > 2 * 1024 * 1024 ? '4m' : '2m';
  // OVMF's variable store: 528 KiB (540672) in 4 MB builds, 128 KiB (131072) in 2 MB builds.
  const varsClass = varsSize >= 512 * 1024 ? '4m' : '2m';
  if (codeClass !== varsClass) {
    return { error: `code is a ${codeClass.toUpperCase()} build but vars is a ${varsClass.toUpperCase()} build (${codeSize} / ${varsSize} bytes): boot entries would be lost` };
  }
  return { flash: codeClass };
}

export class FirmwareNotFoundError extends RehearseError {
  constructor(readonly looked: string[]) {
    super(
      'host-not-ready',
      `OVMF UEFI firmware not found. Looked for (code + vars):\n  ${looked.join('\n  ')}\n` +
        'Install it: Debian/Ubuntu: sudo apt-get install ovmf | Fedora: sudo dnf install edk2-ovmf | ' +
        'Arch: sudo pacman -S edk2-ovmf | Nix: nix shell nixpkgs#OVMF.fd (and export OVMF=<its path>)\n' +
        'or point NIXOS_REHEARSE_OVMF_CODE and NIXOS_REHEARSE_OVMF_VARS at the files.',
      { tool: 'OVMF', looked },
    );
    this.name = 'FirmwareNotFoundError';
  }
}

export type SizeOf = (p: string) => number | undefined;

const realSize: SizeOf = (p) => {
  try {
    const s = statSync(p);
    return s.isFile() ? s.size : undefined;
  } catch {
    return undefined;
  }
};

export function findFirmware(candidates: Candidate[] = firmwareCandidates(), sizeOf: SizeOf = realSize): FirmwarePair {
  const looked: string[] = [];
  for (const c of candidates) {
    const cs = sizeOf(c.code);
    const vs = sizeOf(c.vars);
    if (cs === undefined || vs === undefined) {
      looked.push(`${c.code} + ${c.vars} [${c.source}]: ${cs === undefined ? 'no code file' : 'no vars file'}`);
      continue;
    }
    const k = classifyPair(cs, vs);
    if ('error' in k) {
      looked.push(`${c.code} + ${c.vars} [${c.source}]: ${k.error}`);
      continue;
    }
    return { code: c.code, vars: c.vars, flash: k.flash, source: c.source };
  }
  throw new FirmwareNotFoundError(looked);
}
