// After the install: reboot from the NVMe disk through the firmware, check the machine the way
// the runbook's Tasks 13–18 say an operator must, rebuild the safe way (build, switch, verify),
// and roll back in place and at boot. Every check runs even when an earlier one failed; each
// lands in report.checks with its evidence. This file only gathers evidence: every verdict is a
// pure function in verify/checks.ts, shown red and green in test/unit/checks-red.test.ts.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { BOOT_GAVE_UP, gaveUpStage } from './diagnosis/boot-stage.js';
import { GuestGaveUpError } from './errors.js';
import { timeoutScale } from './qemu/accel.js';
import { Machine } from './qemu/machine.js';
import { type Accel, VM_NIC } from './qemu/spec.js';
import type { Report } from './report.js';
import { GUEST_CONFIG, GUEST_FLAKE, REHEARSE_USER, harnessModule, rehearsePassword, wrapperFlake } from './runbook/harness.js';
import type { Layout } from './runbook/layouts.js';
import {
  type Check,
  checkBootEntriesOutput,
  checkBootTime,
  checkBootedSystem,
  checkClosureSize,
  checkEfiBootEntry,
  checkEntriesRetained,
  checkFailedUnits,
  checkFilesystemHealth,
  checkGenerations,
  checkPasswordRefused,
  checkVmNetwork,
  type PasswordTry,
  checkPoolHealth,
  checkRebuildBuild,
  checkRebuildSwitch,
  checkRollbackAtBoot,
  checkRollbackInPlace,
  checkSecretsNotInStore,
  checkSshLogin,
  checkSshd,
} from './verify/checks.js';
import { CLOSURE_SIZE_COMMAND, EFI_VARS_DUMP, LOADER_ENTRY_SELECTED, parseLoaderDefault, parseLoaderVar, privateKeyNeedle } from './verify/parsers.js';
import { flakeFiles } from './flake-files.js';
import { ownedTempDir } from './leftovers.js';

/** What the install phase hands over. */
export interface Installed {
  workDir: string;
  disks: Array<{ id: string; serial: string }>;
  accel: Accel;
  logDir: string;
  layout: Layout;
  host: string;
  /** The store path nixos-install installed (system-1-link). */
  toplevel: string;
  /** PARTUUIDs of the ESPs, lower case. */
  espPartuuids: string[];
  /** The configuration under test, the harness files as installed, and this run's key pair. */
  configDir: string;
  sshPublicKey: string;
  sshPrivateKeyFile: string;
  /** vm-hardware.nix as injected at install time. */
  vmHardware: string;
  memoryMiB: number;
  cpus: number;
}

type Phase = (id: string, title: string, fn: () => Promise<boolean>) => Promise<boolean>;

/** The autologin the harness sets up, or the guest giving up (boot-stage.ts BOOT_GAVE_UP). */
export const BOOT_DONE = new RegExp(`login: root \\(automatic login\\)|${BOOT_GAVE_UP.source}`);

export interface VerifyOptions {
  rebuild: boolean;
  /** Called with the last VM, before it powers off, when a check failed or a phase threw: the playbook. */
  onFailure?: (m: Machine) => Promise<void>;
  /** Called with the running installed system once the checks are done (more checks of a caller's own). */
  verified?: (m: Machine) => Promise<void>;
  /**
   * The disks outlive the run (--keep): the last VM is shut down cleanly before it stops. Without
   * it the VM is stopped at once: its disks are thrown away, and a clean shutdown under TCG costs
   * tens of seconds for nothing.
   */
  keepDisks?: boolean;
}

export async function verifyInstalled(i: Installed, report: Report & { checks?: Check[] }, phase: Phase, log: (s: string) => void, o: VerifyOptions): Promise<void> {
  const checks: Check[] = (report.checks ??= []);
  const add = (c: Check) => {
    checks.push(c);
    log(`  ${c.status === 'pass' ? '✓' : '✗'} ${c.id.padEnd(24)} ${c.summary}`);
  };
  let m: Machine | undefined;
  // Waits for the serial autologin (the harness's), then takes the control console.
  const settle = async (mm: Machine) => {
    // systemd-boot's menu counts down boot.loader.timeout wall-clock seconds (NixOS's default 5,
    // systemd-boot.nix) before it boots the highlighted entry: the default, or the one-shot entry
    // bootctl set. Enter boots that same entry at once. Not awaited: a configuration with
    // timeout 0 draws no menu, and the boot goes on without the key.
    mm.waitForSerial(/Boot in \d+ s\./, 60).then(() => mm.serial.sendKeys('enter')).catch(() => {});
    const seen = await mm.waitForSerial(BOOT_DONE, 120);
    if (!/automatic login/.test(seen[0])) {
      // It waits for a key that nobody will press: say where it stopped, with the console's end.
      throw new GuestGaveUpError('installed system', gaveUpStage(seen[0]), seen[0].trim(), mm.serialTail(200));
    }
    await mm.connect();
    await mm.waitForUnit('multi-user.target', 120).catch(() => {}); // failed units are a check of their own
  };
  const boot = async (name: string): Promise<Machine> => {
    const mm = await Machine.create({
      name,
      accel: i.accel,
      timeoutScale: timeoutScale(i.accel),
      memoryMiB: i.memoryMiB,
      cpus: i.cpus,
      // No bootindex and the ISO gone: the firmware's own BootOrder (bootctl wrote it) decides.
      disks: i.disks,
      workDir: i.workDir,
      keep: true,
      sshHostPort: 'auto',
      logDir: i.logDir,
    });
    m = mm;
    await mm.start();
    await settle(mm);
    return mm;
  };

  let threw = false;
  try {
    const rebooted = await phase('reboot', 'Reboot from the NVMe disk through the firmware and systemd-boot', async () => {
      await boot('installed');
      return true;
    });
    if (!rebooted || !m) return;
    const mm = m;
    const out = async (cmd: string) => (await mm.run(cmd, 300)).output;

    await phase('verify', 'Verify the installed system (runbook Tasks 13–18)', async () => {
      const [cur, booted] = [(await out('readlink /run/current-system')).trim(), (await out('readlink /run/booted-system')).trim()];
      add(checkBootedSystem(i.toplevel, cur, booted));
      const list = await out('SYSTEMD_COLORS=0 bootctl list --json=short --no-pager');
      const loader = await out('cat /boot/loader/loader.conf');
      add(checkBootEntriesOutput(list, loader, 'nixos-generation-1.conf'));
      add(checkGenerations(await out('nix-env -p /nix/var/nix/profiles/system --list-generations'), 1));
      if (i.layout.root.kind === 'zfs') add(checkPoolHealth(await out('zpool status -x')));
      else {
        const dev = (await out('findmnt -no SOURCE /')).trim().replace(/\[.*\]$/, '');
        const r = await mm.run(i.layout.root.kind === 'ext4' ? `tune2fs -l ${dev}` : 'btrfs device stats /', 120);
        add(checkFilesystemHealth(i.layout.root.kind, r.output, r.exitCode));
      }
      add(checkBootTime(await out('systemd-analyze time'), await out('systemd-analyze blame --no-pager | head -n 10')));
      add(checkFailedUnits(await out('systemctl --failed --no-legend --plain --no-pager')));
      add(checkSshd(await out('systemctl show sshd -p ActiveState,SubState')));
      const host = (await out('hostname')).trim();
      add(checkVmNetwork(await out('ip -j addr show'), VM_NIC));
      const ssh = sshArgs(i.sshPrivateKeyFile, mm.sshPort!, mm.t(12) / 1000);
      const login = await execa('ssh', [...ssh, `${REHEARSE_USER}@127.0.0.1`, 'echo "$(id -un)@$(hostname)"'], { reject: false, timeout: mm.t(36) });
      add(checkSshLogin(login.exitCode ?? -1, `${login.stdout}`, `${login.stderr}`, REHEARSE_USER, host));
      add(checkPasswordRefused(await tryPasswordLogin(mm.sshPort!, REHEARSE_USER, rehearsePassword(readFileSync(i.sshPrivateKeyFile, 'utf8')), mm.t(12) / 1000, mm.t(36))));
      add(checkEfiBootEntry(await out(EFI_VARS_DUMP), i.espPartuuids));
      add(checkClosureSize(await out(CLOSURE_SIZE_COMMAND)));
      // A secret provisioned at runtime (the runbook's way), and this run's private key: neither
      // may be anywhere in the store.
      const secret = `rehearse-secret-${randomBytes(12).toString('hex')}`;
      await mm.succeed(`install -d -m 0700 /run/keys && printf '%s' '${secret}' > /run/keys/rehearse-secret && chmod 0400 /run/keys/rehearse-secret`);
      const keyLine = privateKeyNeedle(readFileSync(i.sshPrivateKeyFile, 'utf8'));
      const g = await mm.run(`grep -rlF -e '${secret}' -e '${keyLine}' /nix/store`, 600);
      add(checkSecretsNotInStore(g.exitCode, g.output));
      await o.verified?.(mm);
      return checks.every((c) => c.status === 'pass');
    });

    if (!o.rebuild) return;
    const rebuilt = await phase('rebuild', 'Rebuild the safe way: build, switch, verify (generation 2)', async () => {
      await pushFlake(mm, i, 2);
      const before = (await out('readlink /run/current-system')).trim();
      const build = await mm.run(`cd /root && nixos-rebuild build --flake ${GUEST_FLAKE}#${i.host}`, 3600);
      const built = await out('readlink /root/result');
      const currentAfter = await out('readlink /run/current-system');
      const markerAfter = await out('cat /etc/nixos-rehearse/generation');
      add(checkRebuildBuild({ exitCode: build.exitCode, output: build.output, before, built, currentAfter, markerAfter }));
      const sw = await mm.run(`nixos-rebuild switch --flake ${GUEST_FLAKE}#${i.host}`, 3600);
      const gen = await out('cat /etc/nixos-rehearse/generation');
      const sshd = await out('systemctl show sshd -p ActiveState,SubState');
      const failed = await out('systemctl --failed --no-legend --plain --no-pager');
      add(checkRebuildSwitch(sw.exitCode, sw.output, gen));
      add(checkSshd(sshd, 'rebuild-sshd'));
      add(checkFailedUnits(failed, 'rebuild-failed-units'));
      add(checkGenerations(await out('nix-env -p /nix/var/nix/profiles/system --list-generations'), 2, 2, 'rebuild-generations'));
      return checks.filter((c) => c.id.startsWith('rebuild-')).every((c) => c.status === 'pass');
    });
    if (!rebuilt) return;

    await phase('rollback', 'Roll back in place, then at boot from the systemd-boot menu', async () => {
      const rb = await mm.run('nixos-rebuild switch --rollback', 3600);
      const gen = await out('cat /etc/nixos-rehearse/generation');
      // "generation 1 is current again" is read, not assumed: the running system's link too.
      const links = { current: await out('readlink /run/current-system'), gen1: await out('readlink /nix/var/nix/profiles/system-1-link') };
      add(checkRollbackInPlace(rb.exitCode, rb.output, gen, links));
      // Generation 2 becomes the default again; the boot menu's previous entry is generation 1.
      await mm.succeed('nix-env -p /nix/var/nix/profiles/system --switch-generation 2 && /nix/var/nix/profiles/system/bin/switch-to-configuration boot', 600);
      const oneshot = await mm.run('SYSTEMD_COLORS=0 bootctl set-oneshot nixos-generation-1.conf && SYSTEMD_COLORS=0 bootctl status --no-pager | grep -E "OneShot|Default" ', 120);
      // A power cycle, not a warm reset: the firmware starts over from the same disks and the
      // same EFI variables (the one-shot entry is a non-volatile variable).
      await mm.shutdown(180, 'sync; systemctl poweroff --no-block --no-wall');
      await mm.stop();
      const m2 = await boot('installed-rollback');
      const o2 = async (cmd: string) => (await m2.run(cmd, 300)).output;
      const booted = await o2('readlink /run/booted-system');
      const gen1 = await o2('readlink /nix/var/nix/profiles/system-1-link');
      const selected = parseLoaderVar(await o2(LOADER_ENTRY_SELECTED));
      const defaultEntry = parseLoaderDefault(await o2('cat /boot/loader/loader.conf'));
      const marker = await o2('cat /etc/nixos-rehearse/generation');
      add(checkRollbackAtBoot({ oneshot: oneshot.output, selected, defaultEntry, booted, gen1, marker }));
      add(checkEntriesRetained(await o2('SYSTEMD_COLORS=0 bootctl list --json=short --no-pager')));
      return checks.filter((c) => c.id.startsWith('rollback-')).every((c) => c.status === 'pass');
    });
  } catch (e) {
    threw = true;
    throw e;
  } finally {
    const last = m as Machine | undefined;
    if (last && o.onFailure && (threw || checks.some((c) => c.status === 'fail'))) await o.onFailure(last).catch(() => {});
    if (last?.isRunning && o.keepDisks) {
      await last.shutdown(120).catch(() => {});
    }
    await last?.stop();
  }
}

function sshArgs(key: string, port: number, connectSeconds = 60): string[] {
  return ['-i', key, '-p', String(port), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-o', `ConnectTimeout=${Math.round(connectSeconds)}`, '-o', 'LogLevel=ERROR'];
}

/**
 * Tries to log in with a password, as an attacker would: public keys off, password and
 * keyboard-interactive, one answer per prompt given by an askpass program (OpenSSH ssh(1):
 * SSH_ASKPASS with SSH_ASKPASS_REQUIRE=force; the password travels in its environment, never on
 * a command line).
 */
async function tryPasswordLogin(port: number, user: string, password: string, connectSeconds: number, timeoutMs: number): Promise<PasswordTry> {
  const dir = ownedTempDir('nixos-rehearse-askpass-');
  const marker = `password-login-${randomBytes(6).toString('hex')}`;
  try {
    const askpass = path.join(dir, 'askpass');
    writeFileSync(askpass, '#!/bin/sh\nprintf \'%s\\n\' "$NIXOS_REHEARSE_PASSWORD"\n', { mode: 0o700 });
    const r = await execa(
      'ssh',
      [
        '-p', String(port), '-F', '/dev/null',
        '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', `ConnectTimeout=${Math.round(connectSeconds)}`,
        '-o', 'PubkeyAuthentication=no', '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none', '-o', 'GSSAPIAuthentication=no',
        '-o', 'PreferredAuthentications=keyboard-interactive,password', '-o', 'NumberOfPasswordPrompts=1',
        `${user}@127.0.0.1`, `echo ${marker}`,
      ],
      { reject: false, timeout: timeoutMs, stdin: 'ignore', env: { SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: ':0', NIXOS_REHEARSE_PASSWORD: password } },
    );
    return { user, exitCode: r.exitCode ?? -1, stdout: `${r.stdout}`, stderr: `${r.stderr}`, marker };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The configuration and the harness flake for generation N (the harness's known change). */
async function pushFlake(m: Machine, i: Installed, generation: number): Promise<void> {
  await m.copyIn(i.configDir, GUEST_CONFIG, 120, await flakeFiles(i.configDir));
  const dir = ownedTempDir('nixos-rehearse-harness-');
  try {
    writeFileSync(path.join(dir, 'flake.nix'), wrapperFlake(i.host));
    writeFileSync(path.join(dir, 'harness.nix'), harnessModule({ sshPublicKey: i.sshPublicKey, password: rehearsePassword(readFileSync(i.sshPrivateKeyFile, 'utf8')), generation }).content);
    writeFileSync(path.join(dir, 'vm-hardware.nix'), i.vmHardware);
    // The files written, not the directory: its owner tag (leftovers.ts) stays on the host.
    await m.copyIn(dir, GUEST_FLAKE, 120, ['flake.nix', 'harness.nix', 'vm-hardware.nix']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
