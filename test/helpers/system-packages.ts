// The system packages the VM tests need on the host, installed when missing (as root, or through
// passwordless sudo), as `playwright install --with-deps` does; otherwise the run stops with the
// exact command. The fixture installer's build tools are vm/fixture/build-fixture.mjs's own
// (ensureHostTools); .ci/run installs all of them up front on CI.
import { execa } from 'execa';
import { type AptInstall, aptInstall, hasCommand, missingPackages } from '../../src/host.js';
import { findFirmware } from '../../src/qemu/firmware.js';

/** Command → the Debian package that provides it. */
export const VM_TEST_TOOLS: Record<string, string> = {
  'qemu-system-x86_64': 'qemu-system-x86',
  'qemu-img': 'qemu-utils',
  // The test guest's initramfs.
  cpio: 'cpio',
  xz: 'xz-utils',
  // The teardown tests.
  pgrep: 'procps',
  // The per-run key and the SSH login into the installed fixture.
  ssh: 'openssh-client',
  'ssh-keygen': 'openssh-client',
  // The ISO's boot menu (doctor's host tools).
  xorriso: 'xorriso',
  setpriv: 'util-linux',
};
/** OVMF is files, not a command: the package when findFirmware finds no pair. */
export const FIRMWARE_PACKAGE = 'ovmf';

/** Pure: which packages are missing, and how to install them here (undefined: nothing missing). */
export function systemPackagesPlan(o: { has: (cmd: string) => boolean; firmware: boolean; root: boolean; passwordlessSudo: boolean; aptGet: boolean; tools?: Record<string, string> }): AptInstall | undefined {
  const missing = missingPackages(o.tools ?? VM_TEST_TOOLS, o.has);
  if (!o.firmware && !missing.includes(FIRMWARE_PACKAGE)) missing.push(FIRMWARE_PACKAGE);
  return aptInstall(missing, { root: o.root, passwordlessSudo: o.passwordlessSudo, aptGet: o.aptGet });
}

function firmwareFound(): boolean {
  try {
    findFirmware();
    return true;
  } catch {
    return false;
  }
}

/** Installs what is missing, or throws with the exact command. */
export async function ensureSystemPackages(log: (s: string) => void, tools = VM_TEST_TOOLS, o: { firmware?: boolean } = {}): Promise<void> {
  const root = process.getuid?.() === 0;
  // OVMF only when asked (the VM tests): the unit tests boot nothing.
  const probe = { has: (c: string) => hasCommand(c), firmware: o.firmware === false || firmwareFound(), root, aptGet: hasCommand('apt-get'), tools };
  // Asked only when something is missing: `sudo -n true` fails at once without a password.
  const needs = systemPackagesPlan({ ...probe, passwordlessSudo: false });
  if (!needs) return;
  const passwordlessSudo = !root && hasCommand('sudo') && (await execa('sudo', ['-n', 'true'], { reject: false, stdin: 'ignore' })).exitCode === 0;
  const plan = systemPackagesPlan({ ...probe, passwordlessSudo })!;
  if (!plan.run) {
    throw new Error(plan.noApt
      ? `the tests need ${plan.packages.join(', ')} (Debian package names); install their equivalents with this machine's package manager`
      : `the tests need ${plan.packages.join(', ')}. Install them with:\n  ${plan.command}`);
  }
  log(`installing system packages: ${plan.packages.join(' ')}`);
  const [bin, ...args] = plan.run;
  await execa(bin!, args, { stdio: 'inherit', env: { DEBIAN_FRONTEND: 'noninteractive' } });
}
