// Finding the QEMU binaries and asking their versions.
import { execa, execaSync } from 'execa';
import { commandPath } from '../host.js';

export function qemuBinary(env: NodeJS.ProcessEnv = process.env): string {
  return env.NIXOS_REHEARSE_QEMU || 'qemu-system-x86_64';
}

export function qemuImgBinary(env: NodeJS.ProcessEnv = process.env): string {
  return env.NIXOS_REHEARSE_QEMU_IMG || 'qemu-img';
}

/** "QEMU emulator version 7.2.22 (Debian ...)" -> "7.2.22"; pure. */
export function parseQemuVersion(out: string): string | undefined {
  return /version\s+(\d+\.\d+(?:\.\d+)?)/.exec(out)?.[1];
}

export async function toolVersion(bin: string): Promise<{ ok: true; version: string; path: string } | { ok: false; error: string }> {
  try {
    const r = await execa(bin, ['--version'], { reject: false, timeout: 10_000 });
    const v = parseQemuVersion(r.stdout);
    if (r.exitCode !== 0 || !v) return { ok: false, error: `${bin} --version failed: ${(r.stderr || r.stdout).trim()}` };
    return { ok: true, version: v, path: commandPath(bin) ?? bin };
  } catch (e) {
    return { ok: false, error: `${bin}: ${(e as Error).message.split('\n')[0]}` };
  }
}

export const INSTALL_HINT =
  'Debian/Ubuntu: sudo apt-get install qemu-system-x86 qemu-utils ovmf | Fedora: sudo dnf install qemu-system-x86 qemu-img edk2-ovmf | Arch: sudo pacman -S qemu-base edk2-ovmf | Nix: nix shell nixpkgs#qemu';

let pdeathsig: boolean | undefined;

/**
 * `bin args` run under util-linux's `setpriv --pdeathsig SIGKILL`, which asks the kernel
 * (prctl PR_SET_PDEATHSIG) to kill the process when its parent dies, and then execs it (same
 * pid): a CLI or action killed with SIGKILL takes its QEMU with it instead of leaving it to run
 * on under PID 1. Without setpriv (not Linux, util-linux < 2.33) the command runs as it is.
 */
export function withParentDeathSignal(bin: string, args: string[]): [string, string[]] {
  pdeathsig ??= execaSync('setpriv', ['--pdeathsig', 'SIGKILL', '--', 'true'], { stdio: 'ignore', reject: false }).exitCode === 0;
  return pdeathsig ? ['setpriv', ['--pdeathsig', 'SIGKILL', '--', bin, ...args]] : [bin, args];
}
