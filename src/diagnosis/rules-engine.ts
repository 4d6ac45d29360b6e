// The engine's own failures, in the runbook's symptom → cause → fix style: a command answer it
// could not trust, an ISO that is not the one asked for, a host the flake does not declare, QEMU
// gone. Each matches the message the engine itself writes (file named at each rule). Pure.
import { type Rule, PROTOCOL_ERROR, clip, firstLine } from './rule-kit.js';
import { PLAYBOOK } from './playbook.js';

// src/console/protocol.ts refuses an answer whose frame holds anything but its own base64.
export const forgedOutputRule: Rule = {
  id: 'forged-output',
  find(c) {
    const inStep = c.failedSteps.filter((s) => (s.problems ?? []).some((p) => PROTOCOL_ERROR.test(p)));
    const msg = PROTOCOL_ERROR.test(c.error) ? firstLine(c.error) : inStep[0]?.problems?.find((p) => PROTOCOL_ERROR.test(p));
    if (!msg) return undefined;
    return {
      symptom: `The engine refused a command's answer: ${msg}.`,
      cause:
        'Text that is not the engine’s own frame appeared inside a command’s output frame on the control console: console noise (kernel messages, a getty or a wall message on hvc0) or output shaped like the frame’s markers. The command protocol refuses such an answer rather than guess what the command printed.',
      fix: 'Keep the control console quiet (no console=hvc0 on the kernel command line, no getty on hvc0, power off with --no-wall) and rerun. If it repeats, attach logs/control-*.raw to a bug report.',
      explains: [...(PROTOCOL_ERROR.test(c.error) ? ['error'] : []), ...inStep.map((s) => `step:${s.id}`)],
    };
  },
};

// src/iso/source.ts: "checksum mismatch for X: expected sha256 A, got B. Nothing was booted."
export const isoChecksumMismatchRule: Rule = {
  id: 'iso-checksum-mismatch',
  find(c) {
    const m = /checksum mismatch for (.+?): expected sha256 ([0-9a-f]{64}), got ([0-9a-f]{64})/.exec(c.error);
    if (!m) return undefined;
    return {
      symptom: `The ISO ${m[1]} has sha256 ${m[3]}, not the expected ${m[2]}; nothing was booted.`,
      cause: 'The file is not the ISO the checksum names: an interrupted or corrupted download, another release’s ISO, or a --sha256 (or <url>.sha256) for a different file.',
      fix: 'Download the NixOS 25.11 installer ISO again, compare it with its published .sha256, and pass that value with --sha256.',
      explains: ['error'],
    };
  },
};

// src/flake.ts resolveFlake and src/runbook/plan.ts splitFlakeRef.
export const unknownFlakeHostRule: Rule = {
  id: 'unknown-flake-host',
  find(c) {
    const m = /the flake in (.+?) has no nixosConfigurations\.(\S+?); it declares: (.*?)\. Pass one of them/.exec(c.error);
    const none = /flake reference '([^']*)' names no host/.exec(c.error);
    if (!m && !none) return undefined;
    return {
      symptom: m ? `The flake in ${m[1]} declares no host "${m[2]}" (it declares: ${m[3]}).` : `The flake reference '${none![1]}' names no host.`,
      cause: 'The part after # must be a name under nixosConfigurations in that flake; a typo, or a host that lives in another flake, is refused before anything boots.',
      fix: m ? `Pass one of the declared hosts after '#', e.g. --flake ${m[1]}#${m[3]!.split(', ')[0]}, or add nixosConfigurations.${m[2]} to flake.nix.` : 'Write it as <path>#<host>, e.g. --flake .#server.',
      runbook: 'Minimal flake layout that scales past one host',
      explains: ['error'],
    };
  },
};

// src/qemu/machine.ts ("QEMU exited during start", "QEMU exited while waiting for a
// reboot") and src/console/console.ts ("console closed (QEMU exited?)").
export const qemuDiedRule: Rule = {
  id: 'qemu-died',
  find(c) {
    if (!/QEMU exited|console closed \(QEMU exited\?\)/.test(c.error) || c.explained.has('error')) return undefined;
    const atStart = /QEMU exited during start/.test(c.error);
    return {
      symptom: `QEMU stopped: ${clip(firstLine(c.error), 400)}.`,
      cause: atStart
        ? 'QEMU refused its command line or could not open a disk, the ISO or the firmware files; its own message says which.'
        : 'QEMU went away while the engine was talking to the guest: it crashed, was killed (the OOM killer, a CI job timeout), or the guest powered off or reset when it was not expected to.',
      fix: 'Read logs/qemu-*.log and the serial log’s last lines; `nixos-rehearse doctor` checks QEMU, qemu-img and OVMF. Rerun with --keep to keep the disks for a look.',
      explains: ['error', 'phase:boot-installer', 'phase:reboot'],
    };
  },
};

// The kernel's OOM killer (report.oom, from the serial consoles: boot-stage.ts oomKills): the
// step or check that failed at the time failed for want of memory, not for its own reason.
export const guestOutOfMemoryRule: Rule = {
  id: 'guest-out-of-memory',
  find(c) {
    const oom = c.input.oom;
    if (!oom?.lines.length) return undefined;
    const installSteps = c.failedSteps.filter((s) => s.task >= 11 && s.task <= 12);
    return {
      symptom: `The guest ran out of memory (${oom.memoryMiB} MiB): ${clip(oom.lines[0]!, 300)}${oom.lines.length > 1 ? ` (and ${oom.lines.length - 1} more)` : ''}.`,
      cause:
        'The kernel’s OOM killer ended a process. In the installer the Nix store is a tmpfs in RAM, evaluating nixpkgs takes around a GiB, and the ZFS ARC grows while the install writes; the installed system’s own services add to that.',
      fix: `Give the VM more memory (--memory, the action’s memory input; the default is 4096 MiB) and rehearse again. ${PLAYBOOK.find((s) => s.id === 'bottleneck')!.decision}`,
      runbook: 'Fast diagnosis playbook: find the bottleneck',
      explains: ['error', ...installSteps.map((s) => `step:${s.id}`)],
    };
  },
};
