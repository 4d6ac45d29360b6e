// The unit tests run real tools too (real outputs, not mocks): Nix evaluates the fixture's
// nixpkgs, git makes repositories, qemu-img checks images, ssh-keygen makes keys, script gives a
// pty, xorriso reads ISO boot menus, perl runs a fixture script. Missing ones are installed (as
// root, or through passwordless sudo) or the run stops with the exact apt-get command, as the VM
// tests' global setup does (test/helpers/system-packages.ts).
import { ensureSystemPackages } from '../helpers/system-packages.js';

export const UNIT_TEST_TOOLS: Record<string, string> = {
  nix: 'nix-bin',
  'nix-instantiate': 'nix-bin',
  git: 'git',
  'qemu-img': 'qemu-utils',
  'ssh-keygen': 'openssh-client',
  script: 'bsdutils',
  findmnt: 'mount',
  xorriso: 'xorriso',
  perl: 'perl',
};

export default async function setup(): Promise<void> {
  await ensureSystemPackages((s) => process.stderr.write(`[unit] ${s}\n`), UNIT_TEST_TOOLS, { firmware: false });
}
