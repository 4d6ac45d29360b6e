// Many guest commands in one control-channel round trip. Under TCG each command the control shell
// runs costs its framing (a base64 file written, decoded, a shell started) on top of the command
// itself; a helper that reads forty facts pays that forty times. `batch` runs the commands in
// order in one shell script, each in its own subshell with stderr folded into stdout (as
// Machine.run returns them), and hands back each one's output and exit code by name.
import { randomBytes } from 'node:crypto';
import type { Machine } from '../../src/qemu/machine.js';

export interface BatchResult {
  exitCode: number;
  output: string;
}

/**
 * Runs `commands` (name → shell command) in order; `preamble` runs first in the script's own shell,
 * so the variables it sets are seen by every command. Throws if a result is missing.
 */
export async function batch(m: Machine, commands: Record<string, string>, opts: { preamble?: string; seconds?: number } = {}): Promise<Record<string, BatchResult>> {
  const tag = `@@batch-${randomBytes(6).toString('hex')}`;
  const names = Object.keys(commands);
  const script = [
    opts.preamble ?? ':',
    ...names.map((n, i) => `printf '%s\\n' '${tag}:${i}:start'; ( ${commands[n]}\n) 2>&1; printf '\\n%s:%d\\n' '${tag}:${i}:rc' "$?"`),
  ].join('\n');
  const r = await m.run(script, opts.seconds ?? 600);
  const out: Record<string, BatchResult> = {};
  names.forEach((n, i) => {
    const start = r.output.indexOf(`${tag}:${i}:start\n`);
    const end = r.output.indexOf(`\n${tag}:${i}:rc:`, start);
    if (start < 0 || end < 0) throw new Error(`batch: no result for ${n} (${commands[n]}); the script printed:\n${r.output.slice(-4000)}`);
    const code = /^(\d+)/.exec(r.output.slice(end + `\n${tag}:${i}:rc:`.length))?.[1];
    out[n] = { output: r.output.slice(start + `${tag}:${i}:start\n`.length, end), exitCode: Number(code) };
  });
  return out;
}

/** `batch`, every command expected to succeed: name → output. */
export async function batchSucceed(m: Machine, commands: Record<string, string>, opts: { preamble?: string; seconds?: number } = {}): Promise<Record<string, string>> {
  const r = await batch(m, commands, opts);
  const failed = Object.entries(r).filter(([, v]) => v.exitCode !== 0);
  if (failed.length) throw new Error(`in the guest: ${failed.map(([n, v]) => `${n} (\`${commands[n]}\`) exited ${v.exitCode}: ${v.output.slice(-800)}`).join('\n')}`);
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.output]));
}
