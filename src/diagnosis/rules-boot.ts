// Boots that did not come up: a kernel panic, stage 1 unable to import the pool or mount root
// (Common mistakes 2), the firmware finding nothing to boot (Common mistakes 1), or a deadline
// with nothing better to say than the stage reached. Read from the serial console. Pure.
import { firmwareFailures, kernelPanic, stage1Failure } from './boot-stage.js';
import { type Rule, ESP_ERROR, clip, seen, timeoutOf } from './rule-kit.js';
import { PLAYBOOK } from './playbook.js';
import { COMMON_MISTAKES, DECISIONS } from './runbook-text.js';

export const kernelPanicRule: Rule = {
  id: 'kernel-panic',
  find(c) {
    const panic = c.input.stage?.kernelPanic ?? kernelPanic(c.serial);
    if (!panic) return undefined;
    const reason = panic.replace(/^Kernel panic - not syncing: /, '');
    const cause = /Unable to mount root fs/.test(reason)
      ? 'The kernel found no root file system to mount: no initrd was loaded, or the initrd lacks the driver for the disk (NVMe) or for the root file system.'
      : /Attempted to kill init/.test(reason)
        ? 'The init process exited: stage 1 or stage 2 crashed, or init= names a path that is not in the store.'
        : 'The kernel stopped on an error it cannot recover from; the serial lines before the panic say which.';
    return {
      symptom: `The kernel panicked during the boot (stage reached: ${c.reached ?? 'unknown'}): ${panic}.`,
      cause,
      fix: 'Boot the previous generation from the systemd-boot menu (rollback at boot), then fix the kernel, initrd or init configuration (boot.kernelPackages, boot.initrd.availableKernelModules) and rebuild. If mounts fail, you have a filesystem/dataset/mount ordering issue. Don’t chase app logs yet.',
      runbook: 'Fast diagnosis playbook: boot and initrd issues',
      explains: ['error', 'timeout', 'phase:reboot', 'phase:boot-installer'],
    };
  },
};

// Stage 1 could not import the root pool: NixOS's zfs.nix prints zpool's "cannot import
// 'rpool': …"; the fixture's stage 1 "<<< stage 1 failed: cannot import ZFS pool rpool >>>".
export const poolNotImportedRule: Rule = {
  id: 'pool-not-imported',
  find(c) {
    const f = stage1Failure(c.serial);
    const zfsStage1 = f && (/ZFS pool|cannot import|zfs/i.test(f.line) || f.reasons.some((r) => r.startsWith('cannot import')));
    const noPool = c.failed.get('pool-health')?.reason === 'no-pool';
    if (!zfsStage1 && !noPool) return undefined;
    const cm = COMMON_MISTAKES.poolNotImported;
    const here = zfsStage1 ? [f!.line, ...f!.reasons.filter((r) => r !== f!.line)].join('; ') : 'zpool status -x: no pools available';
    return { symptom: seen(cm.symptom, clip(here)), cause: cm.cause, fix: cm.fix, runbook: cm.section, explains: ['error', 'timeout', 'phase:reboot', 'check:pool-health'] };
  },
};

// The same symptom on ext4/Btrfs: stage 1 could not mount the root device.
export const rootNotMountedRule: Rule = {
  id: 'root-not-mounted',
  find(c) {
    const f = stage1Failure(c.serial);
    if (!f) return undefined;
    const cm = COMMON_MISTAKES.poolNotImported;
    return {
      symptom: seen(cm.symptom, clip([f.line, ...f.reasons.filter((r) => r !== f.line)].join('; '))),
      cause:
        'Stage 1 could not mount the root file system: a device name or UUID in hardware-configuration.nix that this machine does not have, or an initrd without the driver for the disk or the file system (the serial log shows which module it missed). Task 10: “Do not rely on /dev/nvme0n1p2 in long-term configs unless you enjoy post-reboot surprises.”',
      fix: 'Boot the older generation or the ISO, mount root at /mnt, fix fileSystems."/" (by UUID or label) and boot.initrd.availableKernelModules / boot.initrd.supportedFilesystems, rebuild and reinstall the boot loader.',
      runbook: `${cm.section}; Task 10`,
      explains: ['error', 'timeout', 'phase:reboot'],
    };
  },
};

export const espNotMountedRule: Rule = {
  id: 'esp-not-mounted',
  find(c) {
    const signs: string[] = [];
    const explains: string[] = [];
    const t13 = c.failedSteps.find((s) => s.id === 'task-13-boot-entries');
    if (t13) {
      signs.push(`Task 13: ${(t13.problems ?? []).join('; ') || 'no boot entries'}`);
      explains.push('step:task-13-boot-entries');
    }
    // nixos-install may still print "installation finished!" after bootctl refused the ESP.
    const t12 = c.input.steps?.find((s) => s.id === 'task-12-install');
    const espError = t12 && ESP_ERROR.exec(t12.outputTail);
    if (espError) {
      signs.push(`nixos-install: ${t12.outputTail.split('\n').find((l) => ESP_ERROR.test(l))?.trim() ?? espError[0]}`);
      explains.push('step:task-12-install');
    }
    const t8 = c.failedSteps.find((s) => s.id === 'task-08-mount' && (s.problems ?? []).some((p) => /\/mnt\/boot/.test(p)));
    if (t8) {
      signs.push(`Task 8: ${(t8.problems ?? []).filter((p) => /\/mnt\/boot/.test(p)).join('; ')}`);
      explains.push('step:task-08-mount');
    }
    const entries = c.failed.get('boot-entries');
    if (entries?.reason === 'no-entry') {
      signs.push(`after reboot: ${entries.summary}`);
      explains.push('check:boot-entries');
    }
    const fw = firmwareFailures(c.serial);
    if (c.reached === 'firmware' && (fw.failed.length || fw.shell)) {
      signs.push(`the firmware found nothing to boot (${[...fw.failed.map((l) => l.replace(/ from .*?(: [^:]+)$/, '$1')), fw.shell ? 'then started the UEFI Shell' : ''].filter(Boolean).join('; ')})`);
      explains.push('error', 'timeout', 'phase:reboot');
    }
    if (!signs.length) return undefined;
    const cm = COMMON_MISTAKES.espNotMounted;
    return { symptom: seen(cm.symptom, clip(signs.join('; '), 600)), cause: cm.cause, fix: `${cm.fix} (Task 13: ${DECISIONS.task13.text})`, runbook: cm.section, explains };
  },
};

// A deadline ran out with no panic and no stage 1 failure to show for it.
export const bootHangRule: Rule = {
  id: 'boot-hang',
  find(c) {
    const t = timeoutOf(c);
    if (!t || c.explained.has('timeout')) return undefined;
    const stage = c.reached ?? 'unknown';
    const evidence = c.input.stage?.evidence;
    const where: Record<string, string> = {
      none: 'Nothing came out of the serial console: the firmware did not start (or writes nowhere), or the console is not on ttyS0.',
      firmware: 'The firmware never handed over to a boot loader.',
      'boot-loader': 'The boot loader never started the kernel.',
      initrd: 'The kernel or stage 1 (the initrd) stalled: usually waiting for a root device or pool that does not appear.',
      'stage-2': 'systemd started but never reached the login prompt: a unit blocks the boot (often a mount or network-online.target).',
      login: 'The system reached the login prompt, but the engine’s next step never answered.',
      install: 'nixos-install finished, but what came after it never answered.',
      reboot: 'The guest powered off or reset when the engine did not expect it.',
    };
    return {
      symptom: `A deadline ran out${t.phase ? ` in the ${t.phase} phase` : ''}${t.waitingFor ? ` waiting for ${clip(t.waitingFor, 160)}` : ''}; the boot reached ${stage}${evidence ? ` (“${clip(evidence, 160)}”)` : ''}.`,
      cause: where[stage] ?? 'The guest stopped making progress.',
      fix: `Read the serial log's last lines (report.stage.serialTail, logs/serial-*.log). ${PLAYBOOK.find((s) => s.id === 'boot')!.decision} If it is only slow (TCG), raise NIXOS_REHEARSE_TIMEOUT_SCALE.`,
      runbook: 'Fast diagnosis playbook: boot and initrd issues',
      explains: ['error', 'timeout', ...(t.phase ? [`phase:${t.phase}`] : [])],
    };
  },
};
