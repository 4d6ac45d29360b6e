// Runs the VM test files in budget.json's order: later files start from what earlier ones made
// (the installed base kept by rehearsal.test.ts), and a file missing from the table runs last.
import path from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import budget from './budget.json' with { type: 'json' };

export default class BudgetSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const order = budget.files.map((f) => f.file);
    const rank = (s: TestSpecification) => {
      const i = order.indexOf(path.basename(s.moduleId));
      return i < 0 ? order.length : i;
    };
    return [...files].sort((a, b) => rank(a) - rank(b) || a.moduleId.localeCompare(b.moduleId));
  }
}
