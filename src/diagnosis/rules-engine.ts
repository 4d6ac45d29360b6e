// The engine's own failures, in the runbook's symptom → cause → fix style: a command answer it
// could not trust, an ISO that is not the one asked for, a host the flake does not declare, QEMU
// gone. Each matches the kind and fields of the error the engine raises (src/errors.ts; the
// file that raises it named at each rule), never its message. Pure.
import { type Rule, clip, field, firstLine } from './rule-kit.js';
import { PLAYBOOK } from './playbook.js';

// src/console/protocol.ts refuses an answer whose frame holds anything but its own base64
// (ProtocolError, kind protocol): in report.error, or in the error of the step it stopped.
export const forgedOutputRule: Rule = {
  id: 'forged-output',
  find(c) {
    const inRun = c.error?.kind === 'protocol';
    const inStep = c.failedSteps.filter((s) => s.error?.kind === 'protocol');
    const msg = inRun ? firstLine(c.error!.message) : inStep[0] && firstLine(inStep[0].error!.message);
    if (!msg) return undefined;
    return {
      symptom: `The engine refused a command's answer: ${msg}.`,
      cause:
        'Text that is not the engine’s own frame appeared inside a command’s output frame on the control console: console noise (kernel messages, a getty or a wall message on hvc0) or output shaped like the frame’s markers. The command protocol refuses such an answer rather than guess what the command printed.',
      fix: 'Keep the control console quiet (no console=hvc0 on the kernel command line, no getty on hvc0, power off with --no-wall) and rerun. If it repeats, attach logs/control-*.raw to a bug report.',
      explains: [...(inRun ? ['error'] : []), ...inStep.map((s) => `step:${s.id}`)],
    };
  },
};

// src/iso/source.ts IsoError, kind iso-checksum-mismatch: path, expected, actual.
export const isoChecksumMismatchRule: Rule = {
  id: 'iso-checksum-mismatch',
  find(c) {
    if (c.error?.kind !== 'iso-checksum-mismatch') return undefined;
    const [file, expected, actual] = ['path', 'expected', 'actual'].map((n) => field(c.error, n) ?? '?');
    return {
      symptom: `The ISO ${file} has sha256 ${actual}, not the expected ${expected}; nothing was booted.`,
      cause: 'The file is not the ISO the checksum names: an interrupted or corrupted download, another release’s ISO, or a --sha256 (or <url>.sha256) for a different file.',
      fix: 'Download the NixOS 25.11 installer ISO again, compare it with its published .sha256, and pass that value with --sha256.',
      explains: ['error'],
    };
  },
};

// src/flake.ts resolveFlake (kind unknown-flake-host: dir, host, declared) and
// src/runbook/plan.ts splitFlakeRef (kind input, problem no-host: flakeRef).
export const unknownFlakeHostRule: Rule = {
  id: 'unknown-flake-host',
  find(c) {
    const e = c.error;
    const unknown = e?.kind === 'unknown-flake-host';
    const none = e?.kind === 'input' && field(e, 'problem') === 'no-host';
    if (!unknown && !none) return undefined;
    const declared = Array.isArray(e!.fields?.declared) ? (e!.fields.declared as string[]) : [];
    const [dir, host] = [field(e, 'dir') ?? '?', field(e, 'host') ?? '?'];
    return {
      symptom: unknown ? `The flake in ${dir} declares no host "${host}" (it declares: ${declared.join(', ')}).` : `The flake reference '${field(e, 'flakeRef') ?? ''}' names no host.`,
      cause: 'The part after # must be a name under nixosConfigurations in that flake; a typo, or a host that lives in another flake, is refused before anything boots.',
      fix: unknown ? `Pass one of the declared hosts after '#', e.g. --flake ${dir}#${declared[0] ?? host}, or add nixosConfigurations.${host} to flake.nix.` : 'Write it as <path>#<host>, e.g. --flake .#server.',
      runbook: 'Minimal flake layout that scales past one host',
      explains: ['error'],
    };
  },
};

// Kind qemu-exited (src/qemu/machine.ts: at start, during the install, waiting for a reboot;
// src/qemu/qmp.ts QmpClosedError) and console-closed (src/console/console.ts).
export const qemuDiedRule: Rule = {
  id: 'qemu-died',
  find(c) {
    const e = c.error;
    if ((e?.kind !== 'qemu-exited' && e?.kind !== 'console-closed') || c.explained.has('error')) return undefined;
    const atStart = e.kind === 'qemu-exited' && field(e, 'during') === 'start';
    return {
      symptom: `QEMU stopped: ${clip(firstLine(e.message), 400)}.`,
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
