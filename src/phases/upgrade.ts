// Phases on the installed system after the checks: the runbook's safe upgrade pattern (build,
// switch, verify) to a generation 2, and the rollback to generation 1 in place and at boot.
import { checkEntriesRetained, checkFailedUnits, checkGenerations, checkRebuildBuild, checkRebuildSwitch, checkRollbackAtBoot, checkRollbackInPlace, checkSshd } from '../verify/checks.js';
import { LOADER_ENTRY_SELECTED, parseLoaderDefault, parseLoaderVar } from '../verify/parsers.js';
import { GUEST_FLAKE } from '../runbook/harness.js';
import { bootInstalled, output, pushFlake } from './installed-vm.js';
import type { Phase } from './types.js';

const wantsRebuild = (o: { rebuild?: boolean }) => o.rebuild !== false;

export const rebuildPhase: Phase = {
  id: 'rebuild',
  title: 'Rebuild the safe way: build, switch, verify (generation 2)',
  when: (ctx, failed) => !failed && wantsRebuild(ctx.o),
  async run(ctx) {
    const m = ctx.vm!;
    const out = (cmd: string) => output(m, cmd);
    await pushFlake(ctx, m, 2);
    const before = (await out('readlink /run/current-system')).trim();
    const build = await m.run(`cd /root && nixos-rebuild build --flake ${GUEST_FLAKE}#${ctx.flake.host}`, 3600);
    const built = await out('readlink /root/result');
    ctx.rec.check(checkRebuildBuild({ exitCode: build.exitCode, output: build.output, before, built, currentAfter: await out('readlink /run/current-system'), markerAfter: await out('cat /etc/nixos-rehearse/generation') }));
    const sw = await m.run(`nixos-rebuild switch --flake ${GUEST_FLAKE}#${ctx.flake.host}`, 3600);
    const gen = await out('cat /etc/nixos-rehearse/generation');
    const sshd = await out('systemctl show sshd -p ActiveState,SubState');
    const failed = await out('systemctl --failed --no-legend --plain --no-pager');
    ctx.rec.check(checkRebuildSwitch(sw.exitCode, sw.output, gen));
    ctx.rec.check(checkSshd(sshd, 'rebuild-sshd'));
    ctx.rec.check(checkFailedUnits(failed, 'rebuild-failed-units'));
    ctx.rec.check(checkGenerations(await out('nix-env -p /nix/var/nix/profiles/system --list-generations'), 2, 2, 'rebuild-generations'));
    return ctx.rec.checksPassed('rebuild-');
  },
};

export const rollbackPhase: Phase = {
  id: 'rollback',
  title: 'Roll back in place, then at boot from the systemd-boot menu',
  when: (ctx, failed) => !failed && wantsRebuild(ctx.o),
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
    return ctx.rec.checksPassed('rollback-');
  },
};
