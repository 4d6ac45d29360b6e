// Booting the installed system from its disks through the firmware and systemd-boot, and the
// configuration it rebuilds to: what the reboot, rebuild and rollback phases share.
import { proxyEnvCommand } from '../egress/guest.js';
import { readFileSync } from 'node:fs';
import { BOOT_GAVE_UP, gaveUpStage } from '../diagnosis/boot-stage.js';
import { GuestGaveUpError } from '../errors.js';
import { flakeFiles } from '../flake-files.js';
import { timeoutScale } from '../qemu/accel.js';
import { Machine } from '../qemu/machine.js';
import { GUEST_CONFIG, harnessFiles, rehearsePassword, writeHarness } from '../runbook/harness.js';
import type { PhaseContext } from './types.js';

/** The autologin the harness sets up, or the guest giving up (boot-stage.ts BOOT_GAVE_UP). */
export const BOOT_DONE = new RegExp(`login: root \\(automatic login\\)|${BOOT_GAVE_UP.source}`);

/** Waits for the serial autologin (the harness's), then takes the control console. */
async function settle(m: Machine): Promise<void> {
  // systemd-boot's menu counts down boot.loader.timeout wall-clock seconds (NixOS's default 5,
  // systemd-boot.nix) before it boots the highlighted entry: the default, or the one-shot entry
  // bootctl set. Enter boots that same entry at once. Not awaited: a configuration with
  // timeout 0 draws no menu, and the boot goes on without the key.
  m.waitForSerial(/Boot in \d+ s\./, 60).then(() => m.serial.sendKeys('enter')).catch(() => {});
  const seen = await m.waitForSerial(BOOT_DONE, 120);
  if (!/automatic login/.test(seen[0])) {
    // It waits for a key that nobody will press: say where it stopped, with the console's end.
    throw new GuestGaveUpError('installed system', gaveUpStage(seen[0]), seen[0].trim(), m.serialTail(200));
  }
  await m.connect();
  await m.waitForUnit('multi-user.target', 120).catch(() => {}); // failed units are a check of their own
}

/** Boots the installed disks (the ISO gone, no bootindex: the firmware's BootOrder decides). */
export async function bootInstalled(ctx: PhaseContext, name: string): Promise<Machine> {
  const m = await Machine.create({
    name,
    accel: ctx.accel.accel,
    timeoutScale: timeoutScale(ctx.accel.accel),
    memoryMiB: ctx.memoryMiB,
    cpus: ctx.cpus,
    disks: ctx.disks,
    workDir: ctx.workDir,
    keep: true,
    sshHostPort: 'auto',
    network: ctx.network,
    egress: ctx.egress,
    logDir: ctx.logDir,
  });
  ctx.vm = m;
  await m.start();
  await settle(m);
  await useEgressProxy(ctx, m);
  return m;
}

/** `--network internet`: the guest's root shell (and its services) use the run's proxy, the VM's only way out. */
export async function useEgressProxy(ctx: PhaseContext, m: Machine): Promise<void> {
  if (ctx.network === 'public') await m.succeed(proxyEnvCommand(), 60);
}

/** A guest command's output (its exit code is part of what the check reads, not an error). */
export const output = async (m: Machine, cmd: string, seconds = 300) => (await m.run(cmd, seconds)).output;

/**
 * The configuration the rebuild switches to (ctx.target: the configuration under test) and the
 * harness flake for generation N (the harness's known change). The old copy goes first: a file
 * the new configuration no longer has must not linger.
 */
export async function pushFlake(ctx: PhaseContext, m: Machine, generation: number): Promise<void> {
  await m.succeed(`rm -rf ${GUEST_CONFIG}`);
  await m.copyIn(ctx.target.dir, GUEST_CONFIG, 120, await flakeFiles(ctx.target.dir));
  const i = ctx.installed;
  await writeHarness(m, harnessFiles({ host: ctx.target.host, sshPublicKey: i.sshPublicKey, password: rehearsePassword(readFileSync(i.sshPrivateKeyFile, 'utf8')), generation, vmHardware: i.vmHardware }));
}
