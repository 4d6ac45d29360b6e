// Failures of the installed system and of its upgrade: the checks after the reboot, the
// rebuild and the rollbacks, read the runbook's way (Common mistakes 3–6, the playbook's
// storage and service health, the safe upgrade pattern). Pure.
import { parseZpoolStatus, zpoolProblems } from '../runbook/parsers.js';
import { type CheckLike, type Rule, BUILD_COMMAND, NO_SPACE, clip, errorLine, seen, timeoutOf } from './rule-kit.js';
import { PLAYBOOK } from './playbook.js';
import { COMMON_MISTAKES, DECISIONS } from './runbook-text.js';

export const poolDegradedRule: Rule = {
  id: 'pool-degraded',
  find(c) {
    const sources: Array<[string, string]> = [];
    const ph = c.failed.get('pool-health');
    if (ph) sources.push(['check:pool-health', ph.evidence]);
    const t6 = c.failedSteps.find((s) => s.id === 'task-06-root-filesystem');
    if (t6) sources.push(['step:task-06-root-filesystem', t6.outputTail]);
    const storage = c.play('storage');
    if (storage) sources.push(['playbook:storage', storage.output]);
    for (const [src, text] of sources) {
      const pools = parseZpoolStatus(text);
      const bad = pools.filter((p) => zpoolProblems(p).length);
      if (!bad.length) continue;
      // zpoolProblems names the pool's state twice (its header and its config row): once here.
      const all = bad.flatMap(zpoolProblems);
      const problems = all.filter((p) => !all.includes(`pool ${p}`));
      const action = bad.find((p) => p.action)?.action;
      return {
        symptom: `zpool status: ${clip(problems.join('; '))}.`,
        cause: `A device of the pool is missing, failing or returning bad data${bad[0]!.status ? ` (zpool: “${bad[0]!.status}”)` : ''}. Task 15: ${DECISIONS.task15.text}`,
        fix: `${PLAYBOOK.find((s) => s.id === 'storage')!.decision}${action ? ` zpool says: “${action}”` : ''}`,
        runbook: 'Fast diagnosis playbook: storage health; Task 15',
        explains: [src],
      };
    }
    return undefined;
  },
};

export const secretInStoreRule: Rule = {
  id: 'secret-in-store',
  find(c) {
    const s = c.failed.get('secrets-not-in-store');
    if (!s || s.reason !== 'secret-found') return undefined;
    const cm = COMMON_MISTAKES.secretInStore;
    return { symptom: seen(cm.symptom, s.summary), cause: cm.cause, fix: `${cm.fix} (${DECISIONS.secrets.text})`, runbook: cm.section, explains: ['check:secrets-not-in-store'] };
  },
};

/** The password-login-refused check saw a password get in (checks.ts checkPasswordRefused). */
const passwordGotIn = (x: CheckLike) => x.reason === 'password-accepted';
/** An SSH check that failed without sshd answering: no "Permission denied", nothing got in. */
const sshUnreachable = (x: CheckLike) => x.reason === 'unreachable';

// The opposite of a dead sshd: one that lets passwords in. Task 17: keys, not passwords.
export const passwordLoginAcceptedRule: Rule = {
  id: 'password-login-accepted',
  find(c) {
    const p = c.failed.get('password-login-refused');
    // Only a password that got in; a try that could not reach sshd is a network or sshd failure.
    if (!p || !passwordGotIn(p)) return undefined;
    return {
      symptom: `SSH with public keys off: ${p.summary}.`,
      cause: 'sshd lets passwords in: services.openssh.settings.PasswordAuthentication is true, which is NixOS’s default when the configuration does not set it (nixpkgs nixos/modules/services/networking/ssh/sshd.nix), and NixOS’s sshd PAM stack checks Unix passwords whenever it is. The machine’s safety then rests on passwords, not on the keys Task 17 puts in place.',
      fix: 'Set services.openssh.settings.PasswordAuthentication = false (and KbdInteractiveAuthentication = false to stop offering the prompt at all), with the admins’ authorized keys in place, then rebuild and verify.',
      runbook: 'Task 17',
      explains: ['check:password-login-refused'],
    };
  },
};

// Before SSH: the VM's own NIC has no address, so nothing on the host can reach it. The runbook's
// network playbook step and its war story ("match interfaces by MAC address").
export const vmNoNetworkRule: Rule = {
  id: 'vm-no-network',
  find(c) {
    const n = c.failed.get('vm-network');
    if (!n) return undefined;
    // SSH checks that could not connect fail for this reason, not their own.
    const unreachable = ['ssh-login', 'password-login-refused'].filter((id) => {
      const x = c.failed.get(id);
      return x && sshUnreachable(x);
    });
    return {
      symptom: `The installed system came up without network: ${n.summary}; the host cannot reach its sshd.`,
      cause:
        'The harness names QEMU’s NIC by its MAC (systemd.network.links."10-rehearse-nic") and gives it 10.0.2.15/24 (networking.interfaces.rehearse0), leaving the configuration’s own interfaces alone. Something in the configuration undid that: a .link file or udev rule that renames every NIC, networkd or a network manager that takes over all interfaces and flushes addresses it did not set, or networking that was never started (a failed unit).',
      fix: `${PLAYBOOK.find((s) => s.id === 'network')!.decision} On the console: ip -br a, networkctl, systemctl --failed. Key network configuration on stable identifiers (the MAC), not on names that change with the hardware.`,
      runbook: 'Fast diagnosis playbook: network reachability; Common mistakes 3',
      explains: ['check:vm-network', ...unreachable.map((id) => `check:${id}`)],
    };
  },
};

// NixOS refuses to build a ZFS system without a host id (nixpkgs
// nixos/modules/tasks/filesystems/zfs.nix: assertion `config.networking.hostId != null`,
// "ZFS requires networking.hostId to be set"), on the real machine as in the rehearsal: Task 11's
// preflight, nixos-install or a rebuild prints it under "Failed assertions:".
export const HOST_ID_ASSERTION = /ZFS requires networking\.hostId to be set/;
export const zfsHostIdMissingRule: Rule = {
  id: 'zfs-host-id-missing',
  find(c) {
    const steps = c.failedSteps.filter((s) => HOST_ID_ASSERTION.test(s.outputTail) || (s.problems ?? []).some((p) => HOST_ID_ASSERTION.test(p)));
    const checks = ['rebuild-build', 'rebuild-switch'].map((id) => c.failed.get(id)).filter((x): x is CheckLike => !!x && HOST_ID_ASSERTION.test(x.evidence));
    if (!steps.length && !checks.length) return undefined;
    const where = steps.length ? `Task ${steps[0]!.task}` : checks[0]!.id;
    return {
      symptom: `${where} stopped on NixOS’s assertion: “ZFS requires networking.hostId to be set”.`,
      cause:
        'The configuration mounts ZFS but sets no networking.hostId. ZFS records the host id of the machine that imported a pool, and NixOS will not build a ZFS system without one: the real machine would fail the same way at its next rebuild or install.',
      fix: `Set networking.hostId to 8 hex digits unique to this machine (e.g. from \`head -c4 /dev/urandom | od -A none -t x4\`) in the host’s configuration, commit it, and rehearse again. Task 11: ${DECISIONS.task11.text}`,
      runbook: 'Task 11',
      explains: [...steps.map((s) => `step:${s.id}`), ...checks.map((x) => `check:${x.id}`), 'phase:install'],
    };
  },
};

// NixOS refuses a configuration at evaluation, before anything is built: an option no module
// declares (nixpkgs lib/modules.nix: "The option `<path>' does not exist. Definition values:"),
// or a failed assertion (nixos/modules/system/activation/top-level.nix: "Failed assertions:"
// and one "- <message>" line each). The host-id assertion has its own rule, before this one.
export const OPTION_DOES_NOT_EXIST = /The option `([^'\n]+)' does not exist\./;
export const FAILED_ASSERTIONS = /Failed assertions:\n((?:[ \t]*- [^\n]*(?:\n|$))+)/;
export const nixosEvaluationRule: Rule = {
  id: 'nixos-evaluation-error',
  find(c) {
    const hit = (t: string) => OPTION_DOES_NOT_EXIST.test(t) || (FAILED_ASSERTIONS.test(t) && !HOST_ID_ASSERTION.test(t));
    const steps = c.failedSteps.filter((s) => hit(s.outputTail));
    const checks = ['rebuild-build', 'rebuild-switch'].map((id) => c.failed.get(id)).filter((x): x is CheckLike => !!x && hit(x.evidence));
    if (!steps.length && !checks.length) return undefined;
    const text = steps.length ? steps[0]!.outputTail : checks[0]!.evidence;
    const where = steps.length ? `Task ${steps[0]!.task}` : checks[0]!.id;
    const option = OPTION_DOES_NOT_EXIST.exec(text)?.[1];
    const assertions = (FAILED_ASSERTIONS.exec(text)?.[1] ?? '').split('\n').map((l) => l.trim().replace(/^- /, '')).filter(Boolean);
    const explains = [...steps.map((s) => `step:${s.id}`), ...checks.map((x) => `check:${x.id}`), 'phase:install'];
    if (option) {
      return {
        symptom: `${where} stopped at evaluation: NixOS says “The option \`${clip(option, 200)}' does not exist.”`,
        cause: 'The configuration sets an option that no NixOS 25.11 module declares: a typo, or an option renamed or removed in this release. NixOS evaluates the whole configuration before it builds anything, so the real machine’s next install or nixos-rebuild stops on the same line.',
        fix: `Correct or remove \`${clip(option, 200)}\` in the file the error names (the NixOS 25.11 options are listed at search.nixos.org/options; \`nixos-option\` shows what a running system has), commit, and rehearse again. Task 11: ${DECISIONS.task11.text}`,
        runbook: 'Task 11',
        explains,
      };
    }
    return {
      symptom: `${where} stopped on NixOS’s assertion${assertions.length > 1 ? 's' : ''}: ${assertions.map((a) => `“${clip(a, 200)}”`).join(', ')}.`,
      cause: 'The configuration evaluates, but a NixOS module’s assertion about it is false, and NixOS will not build a system that fails one: the real machine would fail the same way at its next rebuild or install.',
      fix: `Do what the assertion’s message asks in the host’s configuration, commit, and rehearse again. Task 11: ${DECISIONS.task11.text}`,
      runbook: 'Task 11',
      explains,
    };
  },
};

// The checks ran, so the console answered: "console shows system is up".
export const sshDeadAfterRebootRule: Rule = {
  id: 'ssh-dead-after-reboot',
  find(c) {
    const bad = ['sshd', 'ssh-login', 'rebuild-sshd'].filter((id) => !c.explained.has(`check:${id}`)).map((id) => c.failed.get(id)).filter((x): x is CheckLike => !!x);
    if (!bad.length) return undefined;
    const cm = COMMON_MISTAKES.sshDead;
    const net = c.play('network');
    const down = net && !/\bUP\b[^\n]*\d+\.\d+\.\d+\.\d+/.test(net.output.split('\n').filter((l) => !/^lo\s/.test(l)).join('\n'));
    const here = bad.map((x) => `${x.id}: ${x.summary}`).join('; ') + (down ? `; ip -br a shows no interface UP with an address` : '');
    // With sshd down the password attempt cannot connect either: that failure is this one too.
    const pw = c.failed.get('password-login-refused');
    const alsoPw = pw && sshUnreachable(pw) ? ['check:password-login-refused'] : [];
    return { symptom: seen(cm.symptom, clip(here, 500)), cause: cm.cause, fix: `${cm.fix} Task 17: ${DECISIONS.task17.text}`, runbook: cm.section, explains: [...bad.map((x) => `check:${x.id}`), ...alsoPw] };
  },
};

// Common mistakes 4, and the GC mini-story: the last-known-good generation collected away.
export const diskFillingRule: Rule = {
  id: 'disk-filling',
  find(c) {
    const signs: string[] = [];
    const explains: string[] = [];
    // Only a list that was read: an unreadable one says nothing about the disk.
    const kept = c.failed.get('rollback-entries-retained');
    if (kept?.reason === 'too-few-generations') {
      signs.push(kept.summary);
      explains.push('check:rollback-entries-retained');
    }
    for (const s of c.failedSteps) {
      const line = s.outputTail.split('\n').find((l) => NO_SPACE.test(l)) ?? (s.problems ?? []).find((p) => NO_SPACE.test(p));
      if (line) {
        signs.push(`Task ${s.task}: ${line.trim()}`);
        explains.push(`step:${s.id}`);
      }
    }
    for (const ch of c.failed.values()) {
      const line = ch.evidence.split('\n').find((l) => NO_SPACE.test(l));
      if (line) {
        signs.push(`${ch.id}: ${line.trim()}`);
        explains.push(`check:${ch.id}`);
      }
    }
    // What the guest printed before the error (its console's last lines), never the message.
    const full = c.error?.serialTail?.split('\n').find((l) => NO_SPACE.test(l));
    if (full) {
      signs.push(full.trim());
      explains.push('error');
    }
    const df = c.play('storage');
    for (const m of df?.output.matchAll(/^\S+\s+\S+\s+\S+\s+\S+\s+(\d+)%\s+(\/\S*)\s*$/gm) ?? []) {
      if (Number(m[1]) >= 90) signs.push(`${m[2]} is ${m[1]}% full`);
    }
    if (!signs.length) return undefined;
    const cm = COMMON_MISTAKES.diskFilling;
    const gcAte = explains[0] === 'check:rollback-entries-retained' && signs.length === 1;
    return {
      symptom: seen(cm.symptom, clip(signs.join('; '), 500)),
      cause: gcAte ? `Garbage collection or a boot-entry limit removed the older generations: “aggressive GC is how you delete your only working kernel right before a reboot.” ${DECISIONS.keepGenerations.text}` : cm.cause,
      fix: `${cm.fix} ${DECISIONS.gc.text}`,
      runbook: gcAte ? `${cm.section}; Garbage collection without shooting yourself` : cm.section,
      explains,
    };
  },
};

// A build that outlives its deadline: nixos-rebuild (or nixos-install) compiling the world.
export const rebuildSlowRule: Rule = {
  id: 'rebuild-slow',
  find(c) {
    const t = timeoutOf(c);
    if (!t) return undefined;
    const building = (t.phase && ['rebuild', 'rollback'].includes(t.phase)) || (t.waitingFor && /the end of: /.test(t.waitingFor) && BUILD_COMMAND.test(t.waitingFor));
    if (!building) return undefined;
    const cm = COMMON_MISTAKES.rebuildSlow;
    const what = t.waitingFor ? `waiting for ${clip(t.waitingFor, 160)}` : `the ${t.phase} phase`;
    return { symptom: seen(cm.symptom, `the deadline ran out ${what}.`), cause: cm.cause, fix: cm.fix, runbook: cm.section, explains: ['error', 'timeout', ...(t.phase ? [`phase:${t.phase}`] : [])] };
  },
};

// The safe upgrade pattern caught it: the build or the switch failed (not on a deadline).
export const rebuildFailedRule: Rule = {
  id: 'rebuild-failed',
  find(c) {
    const build = c.failed.get('rebuild-build');
    const sw = c.failed.get('rebuild-switch');
    if (!build && !sw) return undefined;
    const first = (build ?? sw)!;
    const why = errorLine(first.evidence);
    const explains = [...(build ? ['check:rebuild-build'] : []), ...(sw ? ['check:rebuild-switch'] : [])];
    // No generation 2 is what a failed switch leaves: the same failure, not another one.
    if (sw && c.failed.get('rebuild-generations')?.reason === 'no-new-generation') explains.push('check:rebuild-generations');
    return {
      symptom: `${first.summary}${why ? `: ${why}` : ''}.`,
      cause: build
        ? 'The changed configuration does not evaluate or build; nothing was activated, the running system is untouched.'
        : 'The new generation built but activating it failed, or activated without the change: the failure the runbook’s “build, then switch, then verify” practice catches at switch time, not after a reboot.',
      fix: build ? DECISIONS.build.text : `${DECISIONS.switch.text} ${DECISIONS.rollback.text}`,
      runbook: build ? DECISIONS.build.section : DECISIONS.switch.section,
      explains,
    };
  },
};

// "Rollback is built into the boot menu": here it did not bring generation 1 back.
export const rollbackFailedRule: Rule = {
  id: 'rollback-failed',
  find(c) {
    const bad = ['rollback-in-place', 'rollback-at-boot'].map((id) => c.failed.get(id)).filter((x): x is CheckLike => !!x);
    if (!bad.length) return undefined;
    const atBoot = bad.some((x) => x.id === 'rollback-at-boot');
    return {
      symptom: `${bad.map((x) => `${x.id}: ${x.summary}`).join('; ')}.`,
      cause: atBoot
        ? 'Choosing generation 1 at boot did not run generation 1: systemd-boot did not take the one-shot entry (EFI variables not writable, an old systemd-boot) or the entry does not boot the system it names.'
        : 'Switching back to generation 1 in place did not bring back its system: the rollback failed or left the change in place.',
      fix: `${DECISIONS.rollback.text} Check bootctl list and each entry’s init= path before relying on it. ${DECISIONS.keepGenerations.text}`,
      runbook: DECISIONS.rollback.section,
      explains: bad.map((x) => `check:${x.id}`),
    };
  },
};

export const failedUnitsRule: Rule = {
  id: 'failed-units',
  find(c) {
    const bad = ['failed-units', 'rebuild-failed-units'].map((id) => c.failed.get(id)).filter((x): x is CheckLike => !!x);
    if (!bad.length) return undefined;
    const services = PLAYBOOK.find((s) => s.id === 'services')!;
    return {
      symptom: `systemctl --failed: ${bad.map((x) => x.summary).join('; ')}.`,
      cause: bad.some((x) => x.id === 'rebuild-failed-units')
        ? 'A unit the new generation started or restarted failed: the switch activated a configuration that does not run. Don’t trust “switch succeeded.”'
        : 'A unit of the installed configuration failed during the boot.',
      fix: `${services.decision} (journalctl -u <unit> -b). ${DECISIONS.rollback.text}`,
      runbook: services.runbook,
      explains: bad.map((x) => `check:${x.id}`),
    };
  },
};
