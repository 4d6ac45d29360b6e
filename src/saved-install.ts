// An installed system kept by one run (--keep-installed) for later runs (--from-installed): its
// disks as qcow2 images, the EFI variables, the run's key, and installed.json. Later runs boot
// copy-on-write overlays over them, so the kept system is never changed.
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createDisk } from './qemu/disks.js';
import type { Injected } from './report.js';

/** What `saveInstalled` keeps beside the disks (installed.json). */
export interface SavedInstall {
  schema: 1;
  layout: string;
  flake: string;
  host: string;
  disks: Array<{ id: string; serial: string; file: string }>;
  efiVars: string;
  toplevel: string;
  espPartuuids: string[];
  injected: Injected[];
  /** vm-hardware.nix as the install injected it: a rebuild writes the same one. */
  vmHardware: string;
  sshPublicKey: string;
  sshPrivateKeyFile: string;
  isoSha256?: string;
  savedAt: string;
}

export function readSavedInstall(dir: string): SavedInstall {
  const file = path.join(dir, 'installed.json');
  if (!existsSync(file)) throw new Error(`${dir} holds no installed system (no installed.json): make one with saveInstalled / --keep-installed`);
  const s = JSON.parse(readFileSync(file, 'utf8')) as SavedInstall;
  for (const d of s.disks) if (!existsSync(d.file)) throw new Error(`${dir}: the installed disk ${d.file} is missing`);
  return s;
}

/**
 * Keeps a powered-off install: its disks move to `dir` (the run goes on over overlays, see
 * overlayDisks), with the EFI variables, the key and installed.json.
 */
export function saveInstall(dir: string, workDir: string, s: SavedInstall, privateKey: string): void {
  const target = path.resolve(dir);
  rmSync(target, { recursive: true, force: true });
  mkdirSync(target, { recursive: true });
  for (const d of s.disks) moveFile(path.join(workDir, `${d.id}.qcow2`), d.file);
  copyFileSync(path.join(workDir, 'efivars.fd'), s.efiVars);
  copyFileSync(privateKey, s.sshPrivateKeyFile);
  chmodSync(s.sshPrivateKeyFile, 0o600);
  writeFileSync(path.join(target, 'installed.json'), `${JSON.stringify(s, null, 2)}\n`);
}

function moveFile(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
    copyFileSync(from, to);
    rmSync(from);
  }
}

/** New copy-on-write disks in the work dir over kept ones (which are never written again). */
export async function overlayDisks(workDir: string, bases: string[]): Promise<void> {
  for (const b of bases) await createDisk(path.join(workDir, path.basename(b)), undefined, b);
}
