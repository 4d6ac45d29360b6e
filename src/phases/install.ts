// Phase: the runbook's Tasks 1–13 (runbook/plan.ts STEPS) in the booted installer, after the
// configuration under test is copied in; the harness modules go in before Task 11. Each step is
// recorded through the recorder; the first failing step skips the rest.
import { readFileSync } from 'node:fs';
import { flakeFiles } from '../flake-files.js';
import type { Machine } from '../qemu/machine.js';
import { RehearseError, errorRecord } from '../errors.js';
import { tail } from '../report.js';
import { GUEST_CONFIG, GUEST_FLAKE, HARNESS_FILE_NAMES, harnessFiles, rehearsePassword, vmHardwareModule, writeHarness } from '../runbook/harness.js';
import { parseHardwareConfig } from '../runbook/parsers.js';
import { STEPS, type Step, part } from '../runbook/plan.js';
import type { Phase, PhaseContext } from './types.js';

type StepHead = Pick<Step, 'id' | 'task' | 'title' | 'decision'>;

/** Runs one step's commands in the guest, checks their outputs, records it; true when it passed. */
export async function runStep(ctx: PhaseContext, m: Machine, step: StepHead, commands: string[], check?: (outs: string[]) => string[], prepare?: () => Promise<void>): Promise<boolean> {
  const r = ctx.rec.stepStart(step, commands.join('\n'));
  const startedMs = Date.now();
  const outs: string[] = [];
  let text = '';
  let problems: string[] | undefined;
  try {
    await prepare?.();
    for (const c of commands) {
      const res = await m.run(c, 3600);
      outs.push(res.output);
      text += `$ ${c}\n${res.output}`;
      if (res.exitCode !== 0) {
        problems = [`\`${c}\` exited with ${res.exitCode}`];
        break;
      }
    }
    problems ??= check?.(outs) ?? [];
  } catch (e) {
    problems = [(e as Error).message.split('\n')[0]!];
    r.error = errorRecord(e, { phase: 'install', step: step.id });
  }
  return ctx.rec.stepEnd(r, { problems, outputTail: tail(text), startedMs, decision: step.decision });
}

const copyStep: StepHead = { id: 'flake-copy', task: 0, title: `Copy the configuration under test into the installer (${GUEST_CONFIG})`, decision: 'Check that the flake directory is readable.' };
const harnessStep: StepHead = { id: 'harness-inject', task: 0, title: `Add the rehearsal's harness modules (${GUEST_FLAKE})`, decision: 'The harness flake could not be written into the installer.' };

/** Writes the harness flake into the installer (a step of its own, after Task 10): harness.ts makes and writes it. */
async function injectHarness(ctx: PhaseContext, m: Machine): Promise<boolean> {
  const hardware = parseHardwareConfig(await m.succeed('cat /mnt/etc/nixos/hardware-configuration.nix'));
  const password = rehearsePassword(readFileSync(ctx.installed.sshPrivateKeyFile, 'utf8'));
  const files = harnessFiles({ host: ctx.flake.host, sshPublicKey: ctx.installed.sshPublicKey, password, vmHardware: hardware });
  // The rebuild writes the same vm-hardware.nix (installed-vm.ts pushFlake).
  ctx.installed.vmHardware = vmHardwareModule(hardware).content;
  // The report shows every injected file; the throw-away password is not repeated there.
  ctx.rec.set({ injected: [...ctx.rec.report.injected, ...files.map((f) => ({ ...f, content: f.content.split(password).join("<this run's throw-away password>") }))] });
  return runStep(
    ctx, m, harnessStep,
    [`ls ${GUEST_FLAKE}`],
    ([ls]) => HARNESS_FILE_NAMES.filter((f) => !(ls ?? '').includes(f)).map((f) => `${GUEST_FLAKE}/${f} is missing`),
    () => writeHarness(m, files),
  );
}

/** Tasks 1–13 in order; the fault's hooks act where they are keyed. False at the first failure. */
async function runTasks(ctx: PhaseContext, m: Machine): Promise<boolean> {
  for (let i = 0; i < STEPS.length; i++) {
    const planned = STEPS[i]!;
    await ctx.fault.beforeStep?.[planned.id]?.(m);
    const s = ctx.fault.step?.[planned.id]?.(planned) ?? planned;
    // After Task 10 the VM's file systems are known: write the harness flake.
    if (s.id === 'task-11-preflight' && !(await injectHarness(ctx, m))) {
      ctx.rec.skipSteps(STEPS.slice(i));
      return false;
    }
    if (!(await runStep(ctx, m, s, s.commands(ctx.plan), s.check ? (outs) => s.check!(outs, ctx.plan) : undefined))) {
      ctx.rec.skipSteps(STEPS.slice(i + 1));
      return false;
    }
  }
  return true;
}

export const installPhase: Phase = {
  id: 'install',
  title: 'Install (runbook Tasks 1–13)',
  async run(ctx) {
    const m = ctx.vm!;
    const copied = await runStep(
      ctx, m, copyStep,
      [`ls -la ${GUEST_CONFIG}`],
      ([ls]) => (/ flake\.nix$/m.test(ls ?? '') ? [] : [`${GUEST_CONFIG}/flake.nix is missing after the copy`]),
      async () => m.copyIn(ctx.flake.dir, GUEST_CONFIG, 120, await flakeFiles(ctx.flake.dir)),
    );
    if (!copied) ctx.rec.skipSteps(STEPS);
    const ok = copied && (await runTasks(ctx, m));
    // QEMU itself gone mid-install is the run's error (the qemu-died diagnosis), not a step's.
    if (!ok && !(await m.alive())) throw new RehearseError('qemu-exited', `QEMU exited during the install (${m.exitStatus}): the VM is gone`, { during: 'install', exit: String(m.exitStatus) });
    // A red install's disks are thrown away with the run: no clean power-off for them.
    if (!ok && !ctx.keepDisks) ctx.rec.info('  the install failed: the VM is stopped without a power-off, its disks are not kept (--keep keeps them, powered off cleanly)');
    if (!ok) return false;
    ctx.installed.toplevel = (await m.succeed('readlink /mnt/nix/var/nix/profiles/system-1-link')).trim();
    for (const d of ctx.plan.disks) ctx.installed.espPartuuids.push((await m.succeed(`sudo blkid -s PARTUUID -o value ${part(d, 1)}`)).trim().toLowerCase());
    return true;
  },
};
