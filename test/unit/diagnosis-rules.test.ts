// Symptom → root cause → fix, on inputs built from real outputs: the runbook's transcripts
// (test/fixtures/runbook), serial logs of real fixture boots (test/fixtures/diagnosis), the
// engine's own error messages and the checks' own verdicts on realistic evidence.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bootStage, oomKills } from '../../src/diagnosis/boot-stage.js';
import { VM_NIC } from '../../src/qemu/spec.js';
import { type DiagnosisInput, RULES, diagnose } from '../../src/diagnosis/rules.js';
import { COMMON_MISTAKES, DECISIONS } from '../../src/diagnosis/runbook-text.js';
import type { Diagnosis, StepResult } from '../../src/report.js';
import { STEPS, splitFlakeRef } from '../../src/runbook/plan.js';
import { GuestGaveUpError, RehearseError, errorRecord } from '../../src/errors.js';
import { ConsoleClosedError, ConsoleTimeoutError } from '../../src/console/console.js';
import { ProtocolError } from '../../src/console/protocol.js';
import { IsoError } from '../../src/iso/source.js';
import { FlakeError } from '../../src/flake.js';
import {
  type Check,
  checkBootTime,
  checkEfiBootEntry,
  checkEntriesRetained,
  checkFailedUnits,
  checkGenerations,
  checkPasswordRefused,
  checkPoolHealth,
  checkRebuildBuild,
  checkRebuildSwitch,
  checkRollbackAtBoot,
  checkSecretsNotInStore,
  checkSshLogin,
  checkSshd,
  checkVmNetwork,
} from '../../src/verify/checks.js';

const fx = (dir: string, name: string) => readFileSync(new URL(`../fixtures/${dir}/${name}`, import.meta.url), 'utf8');
const ids = (d: Diagnosis[]) => d.map((x) => x.id);
const tailOf = (s: string, n = 40) => s.trimEnd().split('\n').slice(-n).join('\n');

/** A report's steps: Tasks 1–11 passed, then `last` as given (the plan stops at a failure). */
function stepsUpTo(last: Partial<StepResult> & { id: string }): StepResult[] {
  const out: StepResult[] = [];
  for (const s of STEPS) {
    if (s.id === last.id) {
      out.push({ task: s.task, title: s.title, status: 'fail', durationMs: 1, command: '', outputTail: '', decision: s.decision, ...last });
      break;
    }
    out.push({ id: s.id, task: s.task, title: s.title, status: 'pass', durationMs: 1, command: '', outputTail: '' });
  }
  return out;
}

const PASS_CHECKS: Check[] = [checkSshd('ActiveState=active\nSubState=running\n'), checkPoolHealth('all pools are healthy\n'), checkFailedUnits('')];
/** A timeout while waiting for the installed system's autologin, as Console raises it and the run records it. */
const serialTimeout = (tail: string) =>
  errorRecord(new ConsoleTimeoutError({ console: 'installed serial', waitingFor: '/login: root \\(automatic login\\)|<<< stage 1 failed: .*>>>|Kernel panic[^\\n]*|emergency mode/', seconds: 600 }, tail), { phase: 'reboot' });
/** A wait for a command's end on a control console that ran out. */
const controlTimeout = (console: string, waitingFor: string, seconds: number, tail = '') => errorRecord(new ConsoleTimeoutError({ console, waitingFor, seconds }, tail));
/** What the engine caught, as it records it. */
const thrown = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return errorRecord(e);
  }
  throw new Error('it did not throw');
};
const stageOf = (log: string) => ({ ...bootStage(log), serialTail: tailOf(log) });

describe('the rules', () => {
  it('run most specific first: proofs from the engine and the console, then the checks, then deadlines', () => {
    expect(RULES.map((r) => r.id)).toEqual([
      'forged-output',
      'iso-checksum-mismatch',
      'unknown-flake-host',
      'guest-out-of-memory',
      'zfs-host-id-missing',
      'nixos-evaluation-error',
      'kernel-panic',
      'pool-not-imported',
      'root-not-mounted',
      'esp-not-mounted',
      'pool-degraded',
      'secret-in-store',
      'password-login-accepted',
      'vm-no-network',
      'ssh-dead-after-reboot',
      'disk-filling',
      'rebuild-slow',
      'rebuild-failed',
      'rollback-failed',
      'failed-units',
      'boot-hang',
      'qemu-died',
    ]);
  });
});

describe('a passing report', () => {
  it('gets no diagnosis', () => {
    expect(diagnose({ result: 'pass', steps: STEPS.map((s) => ({ id: s.id, task: s.task, status: 'pass', outputTail: '' })), checks: PASS_CHECKS, phases: [{ id: 'install', status: 'pass' }] })).toEqual([]);
    expect(diagnose({})).toEqual([]);
  });
});

describe('Common mistakes 1: ESP not mounted at /mnt/boot (esp-not-mounted)', () => {
  it('bootctl refused /mnt/boot, nixos-install still said "installation finished!", Task 13 found no entries', () => {
    // What nixos-install prints when /mnt/boot is not the ESP: bootctl's find-esp.c error, then
    // the install goes on (seen on real installs); the rest is a real fixture transcript.
    const install = fx('diagnosis', 'nixos-install.output.txt').replace(
      'installing the boot loader...\n',
      'installing the boot loader...\nFile system "/boot" is not a FAT EFI System Partition (ESP) file system.\nsystemd-boot not installed in ESP.\n',
    );
    const steps = stepsUpTo({ id: 'task-13-boot-entries', problems: ['/mnt/boot/loader/entries has no nixos-generation-1.conf', 'loader.conf does not default to nixos-generation-1.conf'], outputTail: '$ sudo ls -la /mnt/boot/loader/entries | head\nls: cannot access \'/mnt/boot/loader/entries\': No such file or directory' });
    steps.find((s) => s.id === 'task-12-install')!.outputTail = tailOf(install);
    const d = diagnose({ steps, phases: [{ id: 'install', status: 'fail' }] });
    expect(ids(d)).toEqual(['esp-not-mounted']);
    expect(d[0]).toMatchObject({ runbook: 'Common mistakes 1', cause: COMMON_MISTAKES.espNotMounted.cause });
    expect(d[0]!.symptom).toContain('Boot drops to firmware menu or “no bootable device.”');
    expect(d[0]!.symptom).toContain('File system "/boot" is not a FAT EFI System Partition (ESP) file system.');
    expect(d[0]!.fix).toContain('mount ESP at /mnt/boot');
  });

  it('the real NixOS message: the systemd-boot builder’s mount point check stops nixos-install first', () => {
    // nixpkgs nixos/modules/system/boot/loader/systemd-boot/systemd-boot.nix (checkMountpoints)
    // prints this and exits 1; systemd-boot-builder.py's run([CHECK_MOUNTPOINTS]) raises, and
    // nixos-install (set -e) never reaches "installation finished!".
    const install = fx('diagnosis', 'nixos-install.output.txt')
      .replace(/installing the boot loader\.\.\.\n[\s\S]*$/, 'installing the boot loader...\n')
      .concat(
        "efiSysMountPoint = '/boot' is not a mounted partition. Is the path configured correctly?\n",
        'Traceback (most recent call last):\n',
        '  File "/nix/store/d40fj73k2flhdvh1nif2fd9lb41y8z3x-systemd-boot/bin/systemd-boot", line 432, in main\n',
        '    run([CHECK_MOUNTPOINTS])\n',
        "subprocess.CalledProcessError: Command '['/nix/store/0l4dv6kk7ir2sgqm7hmlgmjrr4gv3k5i-check-mountpoints']' returned non-zero exit status 1.\n",
      );
    expect(install).not.toContain('installation finished!');
    const t12 = STEPS.find((s) => s.id === 'task-12-install')!;
    const problems = t12.check!([install], {} as never);
    expect(problems).toContain("the boot loader install failed: efiSysMountPoint = '/boot' is not a mounted partition. Is the path configured correctly?");
    const steps = stepsUpTo({ id: 'task-12-install', problems, outputTail: tailOf(install) });
    const d = diagnose({ steps, phases: [{ id: 'install', status: 'fail' }] });
    expect(ids(d)[0]).toBe('esp-not-mounted');
    expect(d[0]!.symptom).toContain("nixos-install: efiSysMountPoint = '/boot' is not a mounted partition. Is the path configured correctly?");
  });

  it('Task 8 mounted something else at /mnt/boot', () => {
    const d = diagnose({ steps: stepsUpTo({ id: 'task-08-mount', problems: ['/mnt/boot is /dev/nvme0n1p2, not the ESP /dev/nvme0n1p1'] }) });
    expect(ids(d)).toEqual(['esp-not-mounted']);
    expect(d[0]!.symptom).toContain('/mnt/boot is /dev/nvme0n1p2, not the ESP');
  });

  it('the reboot dropped to the UEFI Shell (a real OVMF log): no boot-hang on top', () => {
    const log = fx('diagnosis', 'firmware-shell.serial.log');
    const d = diagnose({ error: serialTimeout(tailOf(log, 12)), stage: stageOf(log), timedOutPhase: 'reboot', phases: [{ id: 'reboot', status: 'fail' }] });
    expect(ids(d)).toEqual(['esp-not-mounted']);
    expect(d[0]!.symptom).toMatch(/BdsDxe: failed to load Boot0001 "UEFI QEMU NVMe Ctrl REHEARSE0 1": Not Found/);
    expect(d[0]!.symptom).toContain('then started the UEFI Shell');
  });
});

describe('Common mistakes 2: stage 1 could not import the pool or mount root', () => {
  it('NixOS stage 1: cannot import the pool (pool-not-imported), even though the waited-for regex names "stage 1 failed"', () => {
    const serial = ['<<< NixOS Stage 1 >>>', 'loading module zfs...', 'importing root ZFS pool "rpool"..........', "cannot import 'rpool': no such pool available", '', 'An error occurred in stage 1 of the boot process, which must mount the'].join('\n');
    const d = diagnose({ error: serialTimeout(serial), stage: stageOf(serial), timedOutPhase: 'reboot' });
    expect(ids(d)).toEqual(['pool-not-imported']);
    expect(d[0]).toMatchObject({ runbook: 'Common mistakes 2', cause: COMMON_MISTAKES.poolNotImported.cause, fix: COMMON_MISTAKES.poolNotImported.fix });
    expect(d[0]!.symptom).toContain("cannot import 'rpool': no such pool available");
  });

  it('the fixture: verify.ts stops on "<<< stage 1 failed: … >>>"', () => {
    const d = diagnose({ error: errorRecord(new GuestGaveUpError('installed system', 'stage 1 (the initrd)', '<<< stage 1 failed: cannot import ZFS pool rpool >>>')), phases: [{ id: 'reboot', status: 'fail' }] });
    expect(ids(d)).toEqual(['pool-not-imported']);
  });

  it('ext4 root not mounted (a real fixture boot: the initrd missed crc32c): root-not-mounted', () => {
    const log = fx('diagnosis', 'ext4-stage1-failed.serial.log');
    const d = diagnose({ error: errorRecord(new GuestGaveUpError('installed system', 'stage 1 (the initrd)', '<<< stage 1 failed: cannot mount /dev/nvme0n1p2 >>>')), stage: stageOf(log) });
    expect(ids(d)).toEqual(['root-not-mounted']);
    expect(d[0]!.runbook).toBe('Common mistakes 2; Task 10');
    expect(d[0]!.symptom).toContain('<<< stage 1 failed: cannot mount /dev/nvme0n1p2 >>>');
    expect(d[0]!.symptom).toContain('mount: mounting /dev/nvme0n1p2 on /mnt-root failed');
  });

  it('a timeout whose console never showed stage 1 failing is not Common mistakes 2', () => {
    const log = fx('diagnosis', 'installed-zfs-boot.serial.log').split('\n').slice(0, 400).join('\n');
    expect(ids(diagnose({ error: serialTimeout(tailOf(log)), stage: stageOf(log), timedOutPhase: 'reboot' }))).toEqual(['boot-hang']);
  });
});

describe('the boot stopped', () => {
  it('kernel-panic, not boot-hang', () => {
    const log = `${fx('diagnosis', 'installed-zfs-boot.serial.log').split('\n').slice(0, 40).join('\n')}\n[   11.2] [    2.345700] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)\n[   11.2] [    2.346000] ---[ end Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0) ]---`;
    const d = diagnose({ error: serialTimeout(tailOf(log)), stage: stageOf(log), timedOutPhase: 'reboot' });
    expect(ids(d)).toEqual(['kernel-panic']);
    expect(d[0]!.symptom).toContain('Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)');
    expect(d[0]!.symptom).toContain('stage reached: initrd');
    expect(d[0]!.cause).toMatch(/no root file system/);
  });

  it('boot-hang names the stage reached and its line', () => {
    const log = fx('diagnosis', 'installed-zfs-boot.serial.log').split('\n').slice(0, 360).join('\n');
    const d = diagnose({ error: serialTimeout(tailOf(log)), stage: stageOf(log), timedOutPhase: 'reboot' });
    expect(ids(d)).toEqual(['boot-hang']);
    expect(d[0]!.symptom).toContain('the boot reached stage-2 (“Welcome to NixOS 25.11 (Xantusia)!”)');
    expect(d[0]!.cause).toMatch(/systemd started but never reached the login prompt/);
    expect(d[0]!.fix).toContain('If mounts fail, you have a filesystem/dataset/mount ordering issue.');
  });

  it('qemu-died: the real "bootindex 0 has already been used" start failure, and a console that closed', () => {
    const start = "QEMU exited during start (1): qemu-system-x86_64: -device nvme,id=nvme-disk0,bus=rp-disk0,serial=NRB0BBDDD0,drive=disk0,bootindex=0: The bootindex 0 has already been used\n(log: /out/logs/qemu-1795595212839.log)";
    const d = diagnose({ error: errorRecord(new RehearseError('qemu-exited', start, { machine: 'installer', during: 'start', exit: '1' })), phases: [{ id: 'boot-installer', status: 'fail' }] });
    expect(ids(d)).toEqual(['qemu-died']);
    expect(d[0]!.symptom).toContain('The bootindex 0 has already been used');
    expect(d[0]!.cause).toMatch(/refused its command line/);
    expect(ids(diagnose({ error: errorRecord(new ConsoleClosedError('installed serial', '[  OK  ] Reached target multi-user.target')) }))).toEqual(['qemu-died']);
  });
});

describe('after the reboot: the checks’ failures', () => {
  it('pool-degraded from the runbook’s DEGRADED pool, with zpool’s own action', () => {
    const d = diagnose({ checks: [...PASS_CHECKS.filter((c) => c.id !== 'pool-health'), checkPoolHealth(fx('runbook', 'zpool-status-degraded.runbook.txt'))] });
    expect(ids(d)).toEqual(['pool-degraded']);
    expect(d[0]!.symptom).toContain('nvme1n1p2 is UNAVAIL (cannot open)');
    expect(d[0]!.fix).toBe("If ZFS is degraded, your priority is device availability and data safety. Performance debugging can wait. zpool says: “Attach the missing device and online it using 'zpool online'.”");
    expect(d[0]!.runbook).toBe('Fast diagnosis playbook: storage health; Task 15');
  });

  it('pool-degraded from the playbook’s zpool status when a boot failed later', () => {
    const d = diagnose({ error: controlTimeout('installed control', 'the end of: systemctl is-system-running', 120), playbook: [{ id: 'storage', title: 'Storage health', command: 'zpool status', exitCode: 0, output: fx('runbook', 'zpool-status-degraded.runbook.txt') }] });
    expect(ids(d)[0]).toBe('pool-degraded');
  });

  it('ssh-dead-after-reboot: sshd inactive, no login, and the playbook’s ip -br a with the NIC down', () => {
    const checks = [checkSshd('ActiveState=inactive\nSubState=dead\n'), checkSshLogin(255, '', 'ssh: connect to host 127.0.0.1 port 40022: Connection refused', 'rehearse', 'server'), checkPoolHealth('all pools are healthy\n')];
    const playbook = [{ id: 'network', title: 'Network reachability', command: 'ip -br a', exitCode: 0, output: 'lo               UNKNOWN        127.0.0.1/8 ::1/128\nenp0s2           DOWN           \n' }];
    const d = diagnose({ checks, playbook });
    expect(ids(d)).toEqual(['ssh-dead-after-reboot']);
    expect(d[0]).toMatchObject({ runbook: 'Common mistakes 3', cause: COMMON_MISTAKES.sshDead.cause });
    expect(d[0]!.symptom).toContain('sshd: sshd is inactive (dead)');
    expect(d[0]!.symptom).toContain('ip -br a shows no interface UP with an address');
    expect(d[0]!.fix).toContain('On console, check ip -br a, systemctl status sshd, and journalctl -u sshd.');
  });

  it('password-login-accepted when a password login got in', () => {
    const d = diagnose({ checks: [checkPasswordRefused({ user: 'rehearse', marker: 'password-login-0a1b2c', exitCode: 0, stdout: 'password-login-0a1b2c\n', stderr: '' })] });
    expect(ids(d)).toEqual(['password-login-accepted']);
    expect(d[0]!.runbook).toBe('Task 17');
    // sshd down: the password attempt cannot even connect. That is a dead sshd, not an open one.
    const down = diagnose({ checks: [checkSshd('ActiveState=inactive\nSubState=dead\n'), checkPasswordRefused({ user: 'rehearse', marker: 'password-login-0a1b2c', stdout: '', exitCode: 255, stderr: 'ssh: connect to host 127.0.0.1 port 40123: Connection refused\n' })] });
    expect(ids(down)).toEqual(['ssh-dead-after-reboot']);
  });

  it('vm-no-network: QEMU’s NIC without its address explains the SSH checks that could not connect', () => {
    const vf = (n: string) => readFileSync(new URL(`../fixtures/verify/${n}`, import.meta.url), 'utf8');
    const refused = 'ssh: connect to host 127.0.0.1 port 40123: Connection refused\n';
    const d = diagnose({
      checks: [
        checkSshd('ActiveState=active\nSubState=running\n'),
        checkVmNetwork(vf('ip-addr.no-address.json'), VM_NIC),
        checkSshLogin(255, '', refused, 'rehearse', 'server'),
        checkPasswordRefused({ user: 'rehearse', marker: 'password-login-0a1b2c', stdout: '', exitCode: 255, stderr: refused }),
      ],
    });
    // One cause, not a dead sshd too: sshd is up, the VM is unreachable.
    expect(ids(d)).toEqual(['vm-no-network']);
    expect(d[0]!.symptom).toBe("The installed system came up without network: QEMU's NIC enp0s1 (MAC 52:54:00:12:34:56, DOWN) does not have 10.0.2.15/24: it has no IPv4 address; the host cannot reach its sshd.");
    expect(d[0]!.fix).toContain('If the interface isn’t UP or has no address, fix network config before you blame DNS, TLS, or applications.');
    expect(d[0]!.runbook).toBe('Fast diagnosis playbook: network reachability; Common mistakes 3');
  });

  it('zfs-host-id-missing: NixOS’s assertion in Task 11’s preflight, with the fix and Task 11’s Decision', () => {
    // What nix prints for a failed assertion (nixpkgs nixos/modules/misc/assertions.nix via
    // lib.asserts; zfs.nix's message).
    const out = "error:\n       … while evaluating the attribute 'config.system.build.toplevel'\n\n       error:\n       Failed assertions:\n       - ZFS requires networking.hostId to be set";
    const d = diagnose({ steps: stepsUpTo({ id: 'task-11-preflight', problems: ['`nix … build --dry-run …` exited with 1'], outputTail: out }) });
    expect(ids(d)).toEqual(['zfs-host-id-missing']);
    expect(d[0]!.symptom).toBe('Task 11 stopped on NixOS’s assertion: “ZFS requires networking.hostId to be set”.');
    expect(d[0]!.fix).toMatch(/^Set networking\.hostId to 8 hex digits .* Task 11: If the build fails, fix it now while you still have the ISO environment\. Don’t “install and hope\.”$/);
    expect(d[0]!.runbook).toBe('Task 11');
  });

  it('nixos-evaluation-error: an option no module declares stops Task 11 with NixOS’s words and names the option', () => {
    // The shape nix prints an evaluation error in (indented "error:" blocks); the message is
    // nixpkgs lib/modules.nix's for an undeclared option.
    const out = "error:\n       … while evaluating the attribute 'config.system.build.toplevel'\n\n       error: The option `services.openssh.enabel' does not exist. Definition values:\n       - In `/nix/store/3f0c8x1kq6w2y1v9m3l5p7r0s2t4u6w8-source/configuration.nix': true";
    const d = diagnose({ steps: stepsUpTo({ id: 'task-11-preflight', problems: ['`nix … build --dry-run …` exited with 1'], outputTail: out }) });
    expect(ids(d)).toEqual(['nixos-evaluation-error']);
    expect(d[0]!.symptom).toBe('Task 11 stopped at evaluation: NixOS says “The option `services.openssh.enabel\' does not exist.”');
    expect(d[0]!.fix).toMatch(/^Correct or remove `services\.openssh\.enabel` .* Task 11: If the build fails, fix it now/);
    expect(d[0]!.runbook).toBe('Task 11');
  });

  it('nixos-evaluation-error: any failed assertion, each message quoted; the host-id one keeps its own rule', () => {
    const out = "error:\n       … while evaluating the attribute 'config.system.build.toplevel'\n\n       error:\n       Failed assertions:\n       - The ‘fileSystems’ option does not specify your root file system.\n       - users.users.admin.isNormalUser and users.users.admin.isSystemUser are mutually exclusive.";
    const d = diagnose({ steps: stepsUpTo({ id: 'task-11-preflight', problems: ['`nix … build --dry-run …` exited with 1'], outputTail: out }) });
    expect(ids(d)).toEqual(['nixos-evaluation-error']);
    expect(d[0]!.symptom).toBe('Task 11 stopped on NixOS’s assertions: “The ‘fileSystems’ option does not specify your root file system.”, “users.users.admin.isNormalUser and users.users.admin.isSystemUser are mutually exclusive.”.');
    const hostId = out.replace(/Failed assertions:[\s\S]*$/, 'Failed assertions:\n       - ZFS requires networking.hostId to be set');
    expect(ids(diagnose({ steps: stepsUpTo({ id: 'task-11-preflight', outputTail: hostId }) }))).toEqual(['zfs-host-id-missing']);
  });

  it('nixos-evaluation-error: the same words in a rebuild’s build check', () => {
    const ev = "$ nixos-rebuild build --flake /root/rehearse-flake#server\nerror: The option `networking.hostname' does not exist. Definition values:\n- In `/nix/store/x-source/configuration.nix': \"server\"";
    const d = diagnose({ checks: [{ id: 'rebuild-build', status: 'fail', summary: 'nixos-rebuild build exited with 1', evidence: ev }] });
    expect(d[0]!.id).toBe('nixos-evaluation-error');
    expect(d[0]!.symptom).toContain('rebuild-build stopped at evaluation');
  });

  it('guest-out-of-memory: the OOM killer’s line, ahead of the step it broke', () => {
    // Linux mm/oom_kill.c __oom_kill_process's format, as a 6.1 kernel prints it on the console.
    const line = 'Out of memory: Killed process 1876 (nix) total-vm:2905124kB, anon-rss:1712344kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:3712kB oom_score_adj:0';
    const serial = `[  301.112233] nix invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), order=0, oom_score_adj=0\n[  301.245678] ${line}\n`;
    expect(oomKills(serial)).toEqual([line]);
    expect(oomKills('nixos login: nixos (automatic login)\n')).toEqual([]);
    const d = diagnose({ oom: { memoryMiB: 2048, lines: oomKills(serial) }, steps: stepsUpTo({ id: 'task-11-preflight', problems: ['`nix … build --dry-run …` exited with 137'], outputTail: 'Killed' }) });
    expect(ids(d)).toEqual(['guest-out-of-memory']);
    expect(d[0]!.symptom).toBe(`The guest ran out of memory (2048 MiB): ${line}.`);
    expect(d[0]!.fix).toMatch(/^Give the VM more memory \(--memory, the action’s memory input; the default is 4096 MiB\)/);
  });

  it('secret-in-store', () => {
    const d = diagnose({ checks: [checkSecretsNotInStore(0, '/nix/store/9cz4b3i2zj1pvgx8c5d1ph5l2m7q3xk0-source/secrets.env\n')] });
    expect(ids(d)).toEqual(['secret-in-store']);
    expect(d[0]).toMatchObject({ runbook: 'Common mistakes 6', cause: COMMON_MISTAKES.secretInStore.cause });
    expect(d[0]!.symptom).toContain('/nix/store/9cz4b3i2zj1pvgx8c5d1ph5l2m7q3xk0-source/secrets.env');
    // A search that failed is not a leak: the generic check diagnosis, with the runbook's rule.
    const e = diagnose({ checks: [checkSecretsNotInStore(2, 'grep: /nix/store: Permission denied')] });
    expect(e).toMatchObject([{ id: 'check-failed', fix: DECISIONS.secrets.text }]);
  });

  it('failed-units with the playbook’s Decision (the runbook’s nginx)', () => {
    const d = diagnose({ checks: [checkFailedUnits('● nginx.service loaded failed failed Nginx Web Server\n')] });
    expect(ids(d)).toEqual(['failed-units']);
    expect(d[0]!.fix).toContain('Failed units tell you where to focus. Read the unit logs; don’t restart blindly.');
    expect(d[0]!.symptom).toContain('nginx.service');
  });
});

describe('Common mistakes 4 and 5: the disk and the build', () => {
  it('disk-filling: only one generation left in the boot menu (the GC mini-story)', () => {
    const d = diagnose({ checks: [checkEntriesRetained(fx('verify', 'bootctl-list.fixture.json'))] });
    expect(ids(d)).toEqual(['disk-filling']);
    expect(d[0]!.runbook).toBe('Common mistakes 4; Garbage collection without shooting yourself');
    expect(d[0]!.cause).toContain('aggressive GC is how you delete your only working kernel right before a reboot.');
  });

  it('disk-filling: nixos-install ran out of space, and df says so', () => {
    const steps = stepsUpTo({ id: 'task-12-install', problems: ['nixos-install did not print "installation finished!"'], outputTail: "$ sudo nixos-install --root /mnt --no-root-passwd --flake /tmp/rehearse/flake#server\ncopying path '/nix/store/z5w8akxgjz5dcwavl52zp10gbhfhqrq1-linux-6.1.0-56' from the installation medium...\nerror: writing to file: No space left on device" });
    const playbook = [{ id: 'storage', title: 'Storage health', command: 'df -h / /nix /boot', exitCode: 0, output: 'Filesystem      Size  Used Avail Use% Mounted on\n/dev/nvme0n1p2   20G   19G  512M  98% /\n/dev/nvme0n1p1  1022M   52M  971M   6% /boot\n' }];
    const d = diagnose({ steps, playbook });
    expect(ids(d)).toEqual(['disk-filling']);
    expect(d[0]).toMatchObject({ runbook: 'Common mistakes 4', cause: COMMON_MISTAKES.diskFilling.cause });
    expect(d[0]!.symptom).toContain('Task 12: error: writing to file: No space left on device');
    expect(d[0]!.symptom).toContain('/ is 98% full');
  });

  it('rebuild-slow: nixos-rebuild outlived its deadline', () => {
    const d = diagnose({ timedOutPhase: 'rebuild', error: controlTimeout('installed control', 'the end of: nixos-rebuild switch --flake /root/rehearse-flake#server', 18000, "building '/nix/store/…-linux-6.6.drv'...") });
    expect(ids(d)).toEqual(['rebuild-slow']);
    expect(d[0]).toMatchObject({ runbook: 'Common mistakes 5', cause: COMMON_MISTAKES.rebuildSlow.cause, fix: COMMON_MISTAKES.rebuildSlow.fix });
    // The same deadline with no phase given: read from the error.
    expect(ids(diagnose({ error: controlTimeout('installer control', 'the end of: sudo nixos-install --root /mnt --no-root-passwd --flake /tmp/rehearse/flake#server', 3600) }))).toEqual(['rebuild-slow']);
  });
});

describe('the safe upgrade pattern and its rollbacks', () => {
  const GEN1 = '/nix/store/bhvf6b4nawdafvm5a68kk77pai2ybaiy-nixos-system-server-25.11.20261101.fa1ce0f';
  const GEN2 = '/nix/store/q21lx2yj60ggkss09y5cwz7f5mha4rc1-nixos-system-server-25.11.20261101.fa1ce0f';
  it('rebuild-failed: the real failed build of a fixture run, and what it dragged along', () => {
    const out = "building the system configuration...\nerror: path '/nix/store/jclnfy068glbys4jh0s9w1y2z9k7yc4p-source/vm-hardware.nix' does not exist";
    const checks = [
      checkRebuildBuild({ exitCode: 1, output: out, before: GEN1, built: 'readlink: /root/result: No such file or directory', currentAfter: GEN1, markerAfter: '1' }),
      checkRebuildSwitch(1, out, '1'),
      checkSshd('ActiveState=active\nSubState=running\n', 'rebuild-sshd'),
      checkGenerations('   1   2026-11-25 08:47:38   (current)', 2, 2, 'rebuild-generations'),
    ];
    const d = diagnose({ checks });
    expect(ids(d)).toEqual(['rebuild-failed']);
    expect(d[0]).toMatchObject({ runbook: DECISIONS.build.section, fix: DECISIONS.build.text });
    expect(d[0]!.symptom).toBe("nixos-rebuild build failed (exit 1): error: path '/nix/store/jclnfy068glbys4jh0s9w1y2z9k7yc4p-source/vm-hardware.nix' does not exist.");
  });

  it('rebuild-failed at switch time: exit 0 and the change not visible', () => {
    const d = diagnose({ checks: [checkRebuildSwitch(0, 'activating the configuration...\nsetting up /etc...', '1')] });
    expect(d).toMatchObject([{ id: 'rebuild-failed', runbook: DECISIONS.switch.section }]);
    expect(d[0]!.fix).toContain('Don’t trust “switch succeeded.”');
  });

  it('rollback-failed: the wrong generation booted after bootctl set-oneshot', () => {
    const c = checkRollbackAtBoot({ oneshot: 'OneShot Boot Loader Entry: nixos-generation-1.conf', selected: 'nixos-generation-2.conf', defaultEntry: 'nixos-generation-2.conf', booted: GEN2, gen1: GEN1, marker: '2' });
    const d = diagnose({ checks: [c] });
    expect(ids(d)).toEqual(['rollback-failed']);
    expect(d[0]!.symptom).toContain('systemd-boot selected nixos-generation-2.conf');
    expect(d[0]!.fix).toContain(DECISIONS.rollback.text);
  });
});

describe('the engine’s own failures', () => {
  it('iso-checksum-mismatch (src/iso/source.ts message)', () => {
    const [want, got] = ['a'.repeat(64), 'b'.repeat(64)];
    const d = diagnose({ error: errorRecord(new IsoError(`checksum mismatch for /isos/nixos-minimal-25.11-x86_64-linux.iso: expected sha256 ${want}, got ${got}. Nothing was booted.`, 'iso-checksum-mismatch', { path: '/isos/nixos-minimal-25.11-x86_64-linux.iso', expected: want, actual: got })) });
    expect(ids(d)).toEqual(['iso-checksum-mismatch']);
    expect(d[0]!.symptom).toBe(`The ISO /isos/nixos-minimal-25.11-x86_64-linux.iso has sha256 ${got}, not the expected ${want}; nothing was booted.`);
  });

  it('unknown-flake-host (src/flake.ts and plan.ts splitFlakeRef messages)', () => {
    const d = diagnose({ error: errorRecord(new FlakeError("the flake in /repo has no nixosConfigurations.sever; it declares: server, laptop. Pass one of them after '#'.", 'unknown-flake-host', { dir: '/repo', host: 'sever', declared: ['server', 'laptop'] })) });
    expect(ids(d)).toEqual(['unknown-flake-host']);
    expect(d[0]!.symptom).toBe('The flake in /repo declares no host "sever" (it declares: server, laptop).');
    expect(d[0]!.fix).toContain('--flake /repo#server');
    expect(ids(diagnose({ error: thrown(() => splitFlakeRef('/repo')) }))).toEqual(['unknown-flake-host']);
  });

  it('forged-output: the real corrupt-frame error of a fixture run, and the Task it hit still gets its line', () => {
    const steps = stepsUpTo({
      id: 'task-07-datasets',
      problems: ['rpool has compression undefined, not zstd', 'rpool/local has compression undefined, not zstd'],
      outputTail: '$ sudo zfs list -o name,mountpoint,compression\nNAME                MOUNTPOINT  COMPRESS\nrpool               none        zstd',
    });
    const d = diagnose({ error: errorRecord(new ProtocolError('command output frame is corrupt (non-base64 text inside it: console noise?)', 'x')), steps, phases: [{ id: 'install', status: 'fail' }, { id: 'power-off', status: 'fail' }] });
    expect(ids(d)).toEqual(['forged-output', 'step-failed']);
    expect(d[0]!.symptom).toContain('command output frame is corrupt');
    expect(d[1]).toMatchObject({ runbook: 'Task 7', fix: 'Put /nix on its own dataset. It grows. It churns. You want to snapshot it differently than your persistent state.' });
    // A step whose own problem is the protocol error is explained by it.
    const hit = stepsUpTo({ id: 'task-03-partition-table', problems: ['bad exit code "0nr1a2b" in command frame'], error: errorRecord(new ProtocolError('bad exit code "0nr1a2b" in command frame', '', 'bad-exit-code'), { step: 'task-03-partition-table' }) });
    expect(ids(diagnose({ steps: hit }))).toEqual(['forged-output']);
  });
});

describe('never empty for a failed report; most specific first', () => {
  it('step-failed names the Task and its runbook Decision', () => {
    const d = diagnose({ steps: stepsUpTo({ id: 'task-11-preflight', problems: ['`nix … build --dry-run …` exited with 1'], outputTail: "error: attribute 'nginxx' missing" }) });
    expect(d).toEqual([
      {
        id: 'step-failed',
        symptom: 'Task 11 (Preflight the build before installation) failed: `nix … build --dry-run …` exited with 1.',
        cause: 'What the Task’s check saw: `nix … build --dry-run …` exited with 1.',
        fix: 'If the build fails, fix it now while you still have the ISO environment. Don’t “install and hope.”',
        runbook: 'Task 11',
      },
    ]);
  });

  it('check-failed carries the check’s Task Decision', () => {
    const efi = fx('verify', 'efivars.fixture.txt');
    const d = diagnose({ checks: [checkEfiBootEntry(efi, ['00000000-0000-0000-0000-000000000000'])] });
    expect(d).toMatchObject([{ id: 'check-failed', runbook: 'Task 12', fix: DECISIONS.task12.text }]);
  });

  it('several at once, in order, each failure accounted for once', () => {
    const checks = [
      checkPoolHealth(fx('runbook', 'zpool-status-degraded.runbook.txt')),
      checkBootTime('Bootup is not yet finished (org.freedesktop.systemd1.Manager.FinishTimestampMonotonic=0).\nPlease try again later.\n', ''),
      checkFailedUnits('● zfs-import-rpool.service loaded failed failed Import ZFS pool "rpool"\n'),
      checkSshd('ActiveState=active\nSubState=running\n'),
    ];
    expect(ids(diagnose({ checks }))).toEqual(['pool-degraded', 'failed-units', 'check-failed']);
  });

  it('run-error and phase-failed as the last resort', () => {
    expect(diagnose({ error: errorRecord(new RehearseError('host-not-ready', "xorriso is not installed: sudo apt-get install xorriso (it reads the ISO's boot menu without mounting it)", { tool: 'xorriso' })) })).toMatchObject([{ id: 'run-error' }]);
    expect(diagnose({ phases: [{ id: 'power-off', title: 'Unmount, export the pool, power off', status: 'fail' }] })).toMatchObject([{ id: 'phase-failed' }]);
    expect(diagnose({ result: 'fail' })).toMatchObject([{ id: 'run-error' }]);
  });

  it('every rule’s input above gives at least one diagnosis with all three parts', () => {
    const inputs: DiagnosisInput[] = [
      { error: errorRecord(new Error('x')) },
      { timedOutPhase: 'verify' },
      { steps: stepsUpTo({ id: 'task-01-uefi' }) },
      { checks: [checkEntriesRetained('')] },
    ];
    for (const i of inputs) {
      const d = diagnose(i);
      expect(d.length).toBeGreaterThan(0);
      for (const x of d) for (const k of ['id', 'symptom', 'cause', 'fix'] as const) expect(x[k], `${x.id}.${k}`).toBeTruthy();
    }
  });
});

describe('the runbook’s words are quoted, not paraphrased', () => {
  const runbook = readFileSync(new URL('../../../shared/seed/nixos-25.11-install-runbook.txt', import.meta.url), 'utf8');
  it('Common mistakes 1–6 and the Decisions appear verbatim in the runbook', () => {
    for (const m of Object.values(COMMON_MISTAKES)) {
      expect(runbook).toContain(`Symptom: ${m.symptom}`);
      expect(runbook).toContain(`Root cause: ${m.cause}`);
      expect(runbook).toContain(`Fix: ${m.fix}`);
    }
    for (const d of Object.values(DECISIONS)) expect(runbook).toContain(d.text);
  });
});
