// Prints each VM test file's wall time at the end of the run, beside its budget (budget.json)
// scaled by this machine's measured TCG speed: where the time goes, on every CI run.
import path from 'node:path';
import type { Reporter, TestModule } from 'vitest/node';
import budget from './budget.json' with { type: 'json' };
import { measuredSpeed } from '../../src/qemu/accel.js';

export default class TimingReporter implements Reporter {
  private started = new Map<string, number>();
  private ended = new Map<string, number>();
  private t0 = Date.now();

  onTestModuleStart(m: TestModule) {
    this.started.set(m.moduleId, Date.now());
  }

  onTestModuleEnd(m: TestModule) {
    this.ended.set(m.moduleId, Date.now());
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>) {
    if (!modules.some((m) => m.moduleId.includes(`${path.sep}vm${path.sep}`))) return;
    const factor = Number(process.env.NIXOS_REHEARSE_SPEED_FACTOR) || measuredSpeed()?.factor || 1;
    const lines = [`VM test wall time per file (TCG speed factor ${factor}; budget × max(1, factor)):`];
    let total = 0;
    for (const m of modules) {
      const name = path.basename(m.moduleId);
      const s = ((this.ended.get(m.moduleId) ?? Date.now()) - (this.started.get(m.moduleId) ?? this.t0)) / 1000;
      total += s;
      const b = budget.files.find((f) => f.file === name)?.seconds;
      const scaled = b === undefined ? undefined : b * Math.max(1, factor);
      const mark = scaled === undefined ? 'NO BUDGET' : s <= scaled ? 'ok' : 'OVER';
      lines.push(`  ${name.padEnd(22)} ${s.toFixed(0).padStart(5)} s   budget ${scaled === undefined ? '-' : scaled.toFixed(0).padStart(4)} s   ${mark}`);
    }
    lines.push(`  ${'all VM files'.padEnd(22)} ${total.toFixed(0).padStart(5)} s   (whole run ${((Date.now() - this.t0) / 1000).toFixed(0)} s)`);
    process.stdout.write(`\n${lines.join('\n')}\n`);
  }
}
