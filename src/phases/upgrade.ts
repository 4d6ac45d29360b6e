// Phases on the installed system after the checks: the runbook's safe upgrade pattern (build,
// switch, verify) to a generation 2, and the rollback to generation 1 in place and at boot.
import { checkEntriesRetained, checkFailedUnits, checkGenerations, checkRebuildBuild, checkRebuildSwitch, checkRollbackAtBoot, checkRollbackInPlace, checkSshd } from '../verify/checks.js';
import { LOADER_ENTRY_SELECTED, parseLoaderDefault, parseLoaderVar } from '../verify/parsers.js';
import { GUEST_FLAKE } from '../runbook/harness.js';
import type { Machine } from '../qemu/machine.js';
import type { UpgradeChanges } from '../report.js';
import { bootLinksCommand, needsReboot, parseBootLinks, parseDiffClosures, parseUnitChanges } from '../upgrade/changes.js';
import { bootInstalled, output, pushFlake } from './installed-vm.js';
import { checkEnv, postBootChecks } from './verify.js';
import type { Phase, PhaseContext } from './types.js';

const wantsRebuild = (o: { rebuild?: boolean }) => o.rebuild !== false;

/** After the rollback of an upgrade: what shows the base is back and the machine reachable. */
const ROLLED_BACK_CHECKS = ['booted-system', 'failed-units', 'sshd', 'ssh-login'] as const;

/** What the switch will change, read before it: the closure difference and whether a reboot is needed. */
async function readChanges(m: Machine, before: string, built: string): Promise<UpgradeChanges> {
  const diff = await m.run(`nix --extra-experimental-features nix-command store diff-closures ${before} ${built}`, 600);
  const booted = parseBootLinks(await output(m, bootLinksCommand('/run/booted-system')));
  const next = parseBootLinks(await output(m, bootLinksCommand(built)));
  return { from: before, to: built, ...(diff.exitCode === 0 ? { closure: parseDiffClosures(diff.output) } : {}), reboot: needsReboot(booted, next) };
}

/** Build (the running system untouched), then switch, then verify: the runbook's safe upgrade pattern. */
async function buildSwitchVerify(ctx: PhaseContext): Promise<boolean> {
  const m = ctx.vm!;
  const out = (cmd: string) => output(m, cmd);
  await pushFlake(ctx, m, 2);
  const host = ctx.target.host;
  const before = (await out('readlink /run/current-system')).trim();
  if (ctx.mode === 'upgrade') ctx.rec.set({ base: { ...ctx.rec.report.base!, toplevel: before, ...(ctx.cachedBase || ctx.o.installed ? { cachedFrom: ctx.cachedBase ?? ctx.o.installed } : {}) } });
  const build = await m.run(`cd /root && nixos-rebuild build --flake ${GUEST_FLAKE}#${host}`, 3600);
  const built = (await out('readlink /root/result')).trim();
  const buildCheck = checkRebuildBuild({ exitCode: build.exitCode, output: build.output, before, built, currentAfter: await out('readlink /run/current-system'), markerAfter: await out('cat /etc/nixos-rehearse/generation') });
  ctx.rec.check(buildCheck);
  if (buildCheck.status === 'pass') ctx.rec.set({ changes: await readChanges(m, before, built) });
  const sw = await m.run(`nixos-rebuild switch --flake ${GUEST_FLAKE}#${host}`, 3600);
  if (ctx.rec.report.changes) ctx.rec.set({ changes: { ...ctx.rec.report.changes, units: parseUnitChanges(sw.output) } });
  const gen = await out('cat /etc/nixos-rehearse/generation');
  const sshd = await out('systemctl show sshd -p ActiveState,SubState');
  const failed = await out('systemctl --failed --no-legend --plain --no-pager');
  ctx.rec.check(checkRebuildSwitch(sw.exitCode, sw.output, gen));
  ctx.rec.check(checkSshd(sshd, 'rebuild-sshd'));
  ctx.rec.check(checkFailedUnits(failed, 'rebuild-failed-units'));
  ctx.rec.check(checkGenerations(await out('nix-env -p /nix/var/nix/profiles/system --list-generations'), 2, 2, 'rebuild-generations'));
  return ctx.rec.checksPassed('rebuild-');
}

/** A generation 2 exists (the build passed): what comes after a red switch still has something to check and roll back. */
const built = (ctx: PhaseContext) => ctx.rec.report.checks.some((c) => c.id === 'rebuild-build' && c.status === 'pass');

/** Install mode: a rebuild of the same configuration to the harness's known change. */
export const rebuildPhase: Phase = {
  id: 'rebuild',
  title: 'Rebuild the safe way: build, switch, verify (generation 2)',
  when: (ctx, failed) => !failed && ctx.mode === 'install' && wantsRebuild(ctx.o),
  run: buildSwitchVerify,
};

/**
 * Upgrade mode: from the base generation to the configuration under test, the same safe way.
 * A red switch does not stop the run: the reboot into it and the rollback show what the machine
 * would do, and that the base comes back.
 */
export const upgradePhase: Phase = {
  id: 'upgrade',
  title: 'Upgrade to the configuration under test the safe way: build, switch, verify (generation 2)',
  when: (ctx, failed) => !failed && ctx.mode === 'upgrade',
  continueOnFailure: built,
  run: buildSwitchVerify,
};

export const rollbackPhase: Phase = {
  id: 'rollback',
  title: 'Roll back in place, then at boot from the systemd-boot menu',
  when: (ctx, failed) => !failed && (ctx.mode === 'upgrade' ? built(ctx) : wantsRebuild(ctx.o)),
  async run(ctx) {
    const m = ctx.vm!;
    const out = (cmd: string) => output(m, cmd);
    const rb = await m.run('nixos-rebuild switch --rollback', 3600);
    const gen = await out('cat /etc/nixos-rehearse/generation');
    // "generation 1 is current again" is read, not assumed: the running system's link too.
    const links = { current: await out('readlink /run/current-system'), gen1: await out('readlink /nix/var/nix/profiles/system-1-link') };
    ctx.rec.check(checkRollbackInPlace(rb.exitCode, rb.output, gen, links));
    // Generation 2 becomes the default again; the boot menu's previous entry is generation 1.
    await m.succeed('nix-env -p /nix/var/nix/profiles/system --switch-generation 2 && /nix/var/nix/profiles/system/bin/switch-to-configuration boot', 600);
    const oneshot = await m.run('SYSTEMD_COLORS=0 bootctl set-oneshot nixos-generation-1.conf && SYSTEMD_COLORS=0 bootctl status --no-pager | grep -E "OneShot|Default" ', 120);
    // A power cycle, not a warm reset: the firmware starts over from the same disks and the
    // same EFI variables (the one-shot entry is a non-volatile variable).
    await m.shutdown(180, 'sync; systemctl poweroff --no-block --no-wall');
    await m.stop();
    const m2 = await bootInstalled(ctx, 'installed-rollback');
    const o2 = (cmd: string) => output(m2, cmd);
    const booted = await o2('readlink /run/booted-system');
    const gen1 = await o2('readlink /nix/var/nix/profiles/system-1-link');
    const selected = parseLoaderVar(await o2(LOADER_ENTRY_SELECTED));
    const defaultEntry = parseLoaderDefault(await o2('cat /boot/loader/loader.conf'));
    const marker = await o2('cat /etc/nixos-rehearse/generation');
    ctx.rec.check(checkRollbackAtBoot({ oneshot: oneshot.output, selected, defaultEntry, booted, gen1, marker }));
    ctx.rec.check(checkEntriesRetained(await o2('SYSTEMD_COLORS=0 bootctl list --json=short --no-pager')));
    // Upgrade mode: the base generation is back, and the machine is reachable and healthy again.
    const baseBack = ctx.mode !== 'upgrade' || (await postBootChecks(ctx, m2, checkEnv(ctx, 1), { system: 'rolled-back', only: ROLLED_BACK_CHECKS }));
    return ctx.rec.checksPassed('rollback-') && baseBack;
  },
};
