// Disk images. The engine only ever writes to images it created itself, here, in its own
// work directory: never a block device.
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { qemuImgBinary } from './tools.js';

export function qemuImgCreateArgv(file: string, size: string | undefined, backing?: string): string[] {
  if (backing) {
    // A copy-on-write overlay over an installed disk: the base is never written.
    const a = ['create', '-q', '-f', 'qcow2', '-b', path.resolve(backing), '-F', 'qcow2', file];
    return size ? [...a, size] : a;
  }
  if (!size || !/^\d+[KMGT]?$/.test(size)) throw new Error(`disk size ${JSON.stringify(size)} is not like 8G`);
  return ['create', '-q', '-f', 'qcow2', file, size];
}

export async function createDisk(file: string, size: string | undefined, backing?: string): Promise<void> {
  if (existsSync(file)) throw new Error(`refusing to overwrite existing ${file}`);
  if (backing && !existsSync(backing)) throw new Error(`backing image ${backing} does not exist`);
  if (backing && !statSync(backing).isFile()) throw new Error(`backing image ${backing} is not a regular file`);
  await execa(qemuImgBinary(), qemuImgCreateArgv(file, size, backing));
}

/** `qemu-img info --output=json` of an image. */
export async function diskInfo(file: string): Promise<{ format: string; 'virtual-size': number; 'backing-filename'?: string }> {
  const r = await execa(qemuImgBinary(), ['info', '--output=json', '-U', file]);
  return JSON.parse(r.stdout);
}
