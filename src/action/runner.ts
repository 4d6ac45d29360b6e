// Preparing a GitHub-hosted Linux runner: the packages QEMU needs when they are missing, and
// /dev/kvm opened to the runner user. Only on GitHub-hosted runners (RUNNER_ENVIRONMENT), never
// on a self-hosted machine or a developer's laptop, where the engine stops with the exact
// command instead (doctor).
import { accessSync, constants, existsSync } from 'node:fs';
import * as exec from '@actions/exec';

/** Debian/Ubuntu packages for the VM and the host side of a rehearsal. */
export const RUNNER_PACKAGES = ['qemu-system-x86', 'qemu-utils', 'ovmf', 'xorriso', 'openssh-client'];

/**
 * The udev rule GitHub documents for hardware-accelerated virtualization on its Linux runners
 * (https://github.blog/changelog/2023-02-23-hardware-accelerated-android-virtualization-on-actions-windows-and-linux-larger-hosted-runners/).
 */
export const KVM_UDEV_RULE = 'KERNEL=="kvm", GROUP="kvm", MODE="0666", OPTIONS+="static_node=kvm"';

export function isGithubHostedLinux(env: NodeJS.ProcessEnv): boolean {
  return env.GITHUB_ACTIONS === 'true' && env.RUNNER_OS === 'Linux' && env.RUNNER_ENVIRONMENT === 'github-hosted';
}

function canOpen(file: string): boolean {
  try {
    accessSync(file, constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

async function has(cmd: string): Promise<boolean> {
  return (await exec.exec('sh', ['-c', `command -v ${cmd}`], { silent: true, ignoreReturnCode: true })) === 0;
}

/** Returns what it did, one line each, for the log. */
export async function prepareRunner(env: NodeJS.ProcessEnv): Promise<string[]> {
  if (!isGithubHostedLinux(env)) return [];
  const done: string[] = [];
  const missing: string[] = [];
  if (!(await has('qemu-system-x86_64'))) missing.push('qemu-system-x86');
  if (!(await has('qemu-img'))) missing.push('qemu-utils');
  if (!existsSync('/usr/share/OVMF') && !existsSync('/usr/share/ovmf')) missing.push('ovmf');
  if (!(await has('xorriso'))) missing.push('xorriso');
  if (!(await has('ssh-keygen'))) missing.push('openssh-client');
  if (missing.length) {
    await exec.exec('sudo', ['apt-get', 'update', '-q']);
    await exec.exec('sudo', ['env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', 'install', '-y', '-q', '--no-install-recommends', ...missing]);
    done.push(`installed ${missing.join(' ')}`);
  }
  if (existsSync('/dev/kvm') && !canOpen('/dev/kvm')) {
    await exec.exec('sudo', ['sh', '-c', `echo '${KVM_UDEV_RULE}' > /etc/udev/rules.d/99-kvm4all.rules`]);
    await exec.exec('sudo', ['udevadm', 'control', '--reload-rules']);
    await exec.exec('sudo', ['udevadm', 'trigger', '--name-match=kvm']);
    await exec.exec('sudo', ['udevadm', 'settle']);
    done.push(canOpen('/dev/kvm') ? 'opened /dev/kvm to the runner user (udev rule 99-kvm4all.rules)' : '/dev/kvm is still not accessible after the udev rule');
  }
  return done;
}
