// What a run killed with SIGKILL leaves behind (no handler runs): its temporary directories. Each
// directory the engine makes in $TMPDIR is tagged with its owner (the process id and the kernel's
// start time of that process, so a reused pid is not taken for the owner); a later run removes
// the tagged directories whose owner is gone. (QEMU itself dies with its parent: machine.ts
// starts it under a parent-death signal.)
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const OWNER_FILE = '.nixos-rehearse-owner';
const PREFIX = /^nixos-rehearse-(run|key|harness|askpass|speed|probe|sockets)-/;

/** Whether a process of this id exists (EPERM: it does, owned by someone else). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The kernel's start time of a process (field 22 of /proc/PID/stat), or undefined when it is gone. */
export function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count after its end.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** mkdtemp in $TMPDIR, tagged with this process as its owner. */
export function ownedTempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  writeFileSync(path.join(dir, OWNER_FILE), `${JSON.stringify({ pid: process.pid, start: processStart(process.pid) })}\n`);
  return dir;
}

/**
 * Removes the engine's tagged directories in `tmp` whose owner process is gone; returns them.
 * Untagged ones (another tool's, or made by an older version) are left alone.
 */
export function removeLeftovers(tmp = os.tmpdir()): string[] {
  const removed: string[] = [];
  let names: string[] = [];
  try {
    names = readdirSync(tmp);
  } catch {
    return removed;
  }
  for (const name of names) {
    if (!PREFIX.test(name)) continue;
    const dir = path.join(tmp, name);
    let owner: { pid?: number; start?: string };
    try {
      owner = JSON.parse(readFileSync(path.join(dir, OWNER_FILE), 'utf8'));
    } catch {
      continue;
    }
    if (typeof owner.pid !== 'number') continue;
    const start = processStart(owner.pid);
    if (start !== undefined && start === owner.start) continue; // still running
    rmSync(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}
