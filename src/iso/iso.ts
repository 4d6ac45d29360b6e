// Boots a NixOS-shaped installer ISO the way its own boot menu would, without GRUB: read the
// ISO's GRUB config with xorriso (no root, no loop mount), take the installer entry
// (grub-cfg.ts), extract its kernel and initrd, and boot them through OVMF with the ISO still
// attached as a CD-ROM (the initrd finds the store on it by its volume label).
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { RehearseError } from '../errors.js';
import type { DirectKernelBoot } from '../qemu/spec.js';
import { type GrubEntry, directBootParams, installerEntry } from './grub-cfg.js';

export interface IsoBoot extends DirectKernelBoot {
  entry: GrubEntry;
  /** Where grub.cfg was found in the ISO. */
  grubCfg: string;
}

export function xorrisoBinary(): string {
  return process.env.NIXOS_REHEARSE_XORRISO || 'xorriso';
}

async function xorriso(iso: string, args: string[]): Promise<string> {
  const r = await execa(xorrisoBinary(), ['-osirrox', 'on', '-indev', iso, ...args], { reject: false, stdin: 'ignore' });
  if (r.exitCode !== 0) {
    const said = `${r.stderr}`.split('\n').filter((l) => /FAILURE|SORRY|not found|Cannot|No such/i.test(l)).join('\n');
    if ((r as { code?: string }).code === 'ENOENT') throw new RehearseError('host-not-ready', `xorriso is not installed: sudo apt-get install xorriso (it reads the ISO's boot menu without mounting it)`, { tool: 'xorriso' });
    throw new Error(`xorriso could not read ${iso}: ${said || `exit ${r.exitCode}`}`);
  }
  return `${r.stdout}`;
}

/** Paths inside the ISO whose name is grub.cfg, under /EFI (the EFI boot menu iso-image.nix writes). */
async function findGrubCfg(iso: string): Promise<string> {
  const out = await xorriso(iso, ['-find', '/EFI', '-name', 'grub.cfg']);
  const found = [...out.matchAll(/^'(.+)'$/gm)].map((m) => m[1]!);
  if (!found.length) throw new Error(`${iso} has no /EFI/*/grub.cfg: not a NixOS installer ISO (or not a UEFI one)`);
  return found.sort((a, b) => a.length - b.length)[0]!;
}

/**
 * Extracts what a direct kernel boot of the ISO's installer entry needs into `dir`, and the
 * kernel command line: the entry's own parameters (`${isoboot}` dropped) plus the serial console.
 */
export async function isoBoot(iso: string, dir: string): Promise<IsoBoot> {
  mkdirSync(dir, { recursive: true });
  const grubCfg = await findGrubCfg(iso);
  const cfgFile = path.join(dir, 'grub.cfg');
  await xorriso(iso, ['-extract', grubCfg, cfgFile]);
  const entry = installerEntry(readFileSync(cfgFile, 'utf8'));
  const kernel = path.join(dir, 'kernel');
  const initrd = path.join(dir, 'initrd');
  await xorriso(iso, ['-extract', entry.kernel, kernel]);
  // Several initrds are concatenated by the kernel; the NixOS ISO has one.
  if (entry.initrds.length !== 1) throw new Error(`menuentry '${entry.title}' has ${entry.initrds.length} initrds; one is supported`);
  await xorriso(iso, ['-extract', entry.initrds[0]!, initrd]);
  return { kernel, initrd, append: directBootParams(entry), entry, grubCfg };
}
