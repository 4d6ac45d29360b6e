// Phases on the installed system: the reboot from the NVMe disk, and the post-boot checks of
// the runbook's Tasks 13–18 — a loop over the check table (verify/post-boot.ts). Every check
// runs even when an earlier one failed; each lands in the report with its evidence.
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import type { Machine } from '../qemu/machine.js';
import { VM_NIC } from '../qemu/spec.js';
import { REHEARSE_USER, rehearsePassword } from '../runbook/harness.js';
import { privateKeyNeedle } from '../verify/parsers.js';
import type { Check, CheckId } from '../verify/checks.js';
import { type CheckEnv, POST_BOOT_CHECKS, type ProbeId, type ProbeResults, type Read } from '../verify/post-boot.js';
import { keyLogin, tryPasswordLogin } from '../verify/ssh.js';
import { bootInstalled } from './installed-vm.js';
import type { Phase, PhaseContext } from './types.js';

export const rebootPhase: Phase = {
  id: 'reboot',
  title: 'Reboot from the NVMe disk through the firmware and systemd-boot',
  async run(ctx) {
    await ctx.vm?.stop();
    await bootInstalled(ctx, 'installed');
    return true;
  },
};

type Probe<K extends ProbeId> = (ctx: PhaseContext, m: Machine) => Promise<ProbeResults[K]>;

/** The host-side probes the check table names. */
const PROBES: { [K in ProbeId]: Probe<K> } = {
  'key-login': (ctx, m) => keyLogin(ctx.installed.sshPrivateKeyFile, m.sshPort!, REHEARSE_USER, m.t(12) / 1000, m.t(36)),
  'password-login': (ctx, m) => tryPasswordLogin(m.sshPort!, REHEARSE_USER, rehearsePassword(readFileSync(ctx.installed.sshPrivateKeyFile, 'utf8')), m.t(12) / 1000, m.t(36)),
  // A secret provisioned at runtime (the runbook's way), and this run's private key: neither
  // may be anywhere in the store.
  async 'secret-search'(ctx, m) {
    const secret = `rehearse-secret-${randomBytes(12).toString('hex')}`;
    await m.succeed(`install -d -m 0700 /run/keys && printf '%s' '${secret}' > /run/keys/rehearse-secret && chmod 0400 /run/keys/rehearse-secret`);
    const keyLine = privateKeyNeedle(readFileSync(ctx.installed.sshPrivateKeyFile, 'utf8'));
    return m.run(`grep -rlF -e '${secret}' -e '${keyLine}' /nix/store`, 600);
  },
};

export function checkEnv(ctx: PhaseContext, generation = 1, toplevel = ctx.installed.toplevel): CheckEnv {
  return { rootKind: ctx.layout.root.kind, toplevel, espPartuuids: ctx.installed.espPartuuids, nic: VM_NIC, user: REHEARSE_USER, generation };
}

/** The post-boot checks of the table (all, or `only` these), each recorded; whether all passed. */
export async function postBootChecks(ctx: PhaseContext, m: Machine, env: CheckEnv, o: { system?: Check['system']; only?: readonly CheckId[] } = {}): Promise<boolean> {
  let ok = true;
  for (const c of POST_BOOT_CHECKS) {
    if ((c.applies && !c.applies(env)) || (o.only && !o.only.includes(c.id))) continue;
    const reads: Record<string, Read> = {};
    for (const [name, cmd] of Object.entries(typeof c.reads === 'function' ? c.reads(env) : c.reads)) reads[name] = await m.run(cmd, 300);
    const probe: Partial<ProbeResults> = {};
    if (c.probe) Object.assign(probe, { [c.probe]: await (PROBES[c.probe] as Probe<typeof c.probe>)(ctx, m) });
    const check = c.verdict(reads, env, probe);
    ctx.rec.check(o.system ? { ...check, system: o.system } : check);
    ok &&= check.status === 'pass';
  }
  return ok;
}

/**
 * An upgrade from a base that was installed and checked before (the cache, or a kept install)
 * spends its time on the pull request's own work: the base's checks ran when it was made.
 */
const warmUpgrade = (ctx: PhaseContext) => ctx.mode === 'upgrade' && !!(ctx.cachedBase || ctx.o.installed);

export const verifyPhase: Phase = {
  id: 'verify',
  title: 'Verify the installed system (runbook Tasks 13–18)',
  when: (ctx, failed) => !failed && !warmUpgrade(ctx),
  continueOnFailure: true,
  async run(ctx) {
    const m = ctx.vm!;
    const ok = await postBootChecks(ctx, m, checkEnv(ctx), { system: ctx.mode === 'upgrade' ? 'base' : undefined });
    // A base that fails its own checks is not kept for later upgrades.
    if (!ok && ctx.mode === 'upgrade' && ctx.saveTo) {
      rmSync(ctx.saveTo, { recursive: true, force: true });
      ctx.rec.info(`  the base failed its checks: it is not kept in the cache (${ctx.saveTo})`);
    }
    await ctx.o.events?.verified?.(m);
    return ok;
  },
};

/**
 * Upgrade mode: a power cycle into the new generation (the boot default now) through the
 * firmware and systemd-boot, and every post-boot check on it. Red or green, the rollback follows.
 */
export const rebootUpgradedPhase: Phase = {
  id: 'reboot-upgraded',
  title: 'Reboot into the upgraded generation through the firmware and systemd-boot, and check it (Tasks 13–18)',
  when: (ctx, failed) => !failed && ctx.mode === 'upgrade',
  continueOnFailure: true,
  async run(ctx) {
    const old = ctx.vm!;
    await old.shutdown(180, 'sync; systemctl poweroff --no-block --no-wall');
    await old.stop();
    const m = await bootInstalled(ctx, 'upgraded');
    return postBootChecks(ctx, m, checkEnv(ctx, 2, ctx.rec.report.changes?.to ?? ''), { system: 'upgraded' });
  },
};
