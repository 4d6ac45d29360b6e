// After a failure, in one place: the runbook's fast diagnosis playbook in a guest that still
// answers, else how far its boot got (the serial console's last lines).
import { playbookFor } from '../diagnosis/playbook.js';
import type { Machine } from '../qemu/machine.js';
import type { PlaybookOutput } from '../report.js';
import type { RootKindName } from '../roots/index.js';
import { tail } from '../report.js';
import type { PhaseContext } from './types.js';

/**
 * The runbook's fast diagnosis playbook in a guest that still answers, each output kept for the
 * report. Bounded: a playbook command that hangs must not hold the report back.
 */
export async function runPlaybook(m: Machine, layoutKind: RootKindName): Promise<PlaybookOutput[]> {
  const outs: PlaybookOutput[] = [];
  for (const s of playbookFor(layoutKind)) {
    try {
      // The control shell is root on the installer (connect with sudo) and on the installed system.
      const r = await m.run(s.command, 60);
      outs.push({ id: s.id, title: s.title, command: s.command, exitCode: r.exitCode, output: tail(r.output, 60) });
    } catch (e) {
      outs.push({ id: s.id, title: s.title, command: s.command, exitCode: -1, output: `(no answer: ${(e as Error).message.split('\n')[0]})` });
      break; // the guest stopped answering
    }
  }
  return outs;
}

/** The playbook when the guest answers; the boot stage when it does not (or stopped answering). */
export async function afterFailure(ctx: PhaseContext, m: Machine): Promise<void> {
  const alive = await m.alive();
  if (alive) {
    ctx.rec.info('running the fast diagnosis playbook in the guest');
    ctx.rec.playbook(await runPlaybook(m, ctx.layout.root.kind));
  }
  if (!alive || ctx.rec.report.playbook?.some((p) => p.exitCode === -1)) ctx.rec.stage(m.serialTail(200));
}
