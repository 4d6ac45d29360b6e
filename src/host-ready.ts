// Whether this host can run a rehearsal at all (QEMU, qemu-img, OVMF, ssh-keygen): the error
// of kind host-not-ready, the CLI's exit code 3. Checked before the ISO is fetched.
import { RehearseError } from './errors.js';
import { commandPath } from './host.js';
import { findFirmware, firmwareCandidates } from './qemu/firmware.js';
import { INSTALL_HINT, qemuBinary, qemuImgBinary } from './qemu/tools.js';

/** What this host lacks for a rehearsal, one line each (empty: ready). */
export function hostProblems(env: NodeJS.ProcessEnv = process.env): string[] {
  const problems: string[] = [];
  const tools: Array<[string, string]> = [['QEMU', qemuBinary(env)], ['qemu-img', qemuImgBinary(env)], ['ssh-keygen', 'ssh-keygen']];
  for (const [what, bin] of tools) if (!commandPath(bin, env)) problems.push(`${what} not found (${bin})`);
  try {
    findFirmware(firmwareCandidates(env));
  } catch {
    problems.push('OVMF UEFI firmware not found');
  }
  return problems;
}

/** The host-not-ready error (exit 3) when the host lacks something, else undefined. */
export function hostNotReady(env: NodeJS.ProcessEnv = process.env): RehearseError | undefined {
  const problems = hostProblems(env);
  if (!problems.length) return undefined;
  return new RehearseError('host-not-ready', `this host is not ready for a rehearsal: ${problems.join('; ')}. \`nixos-rehearse doctor\` says more; to install: ${INSTALL_HINT}`, { problems });
}
