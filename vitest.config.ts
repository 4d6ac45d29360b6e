import { defineConfig } from 'vitest/config';
import BudgetSequencer from './test/vm/sequencer.js';

export default defineConfig({
  test: {
    // The VM files run in test/vm/budget.json's order (later ones reuse what earlier ones made).
    sequence: { sequencer: BudgetSequencer },
    reporters: ['default', './test/vm/timing-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          // Installs the real tools the unit tests run, when missing (or says the command).
          globalSetup: ['test/unit/global-setup.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'vm',
          include: ['test/vm/**/*.test.ts'],
          globalSetup: ['test/vm/global-setup.ts'],
          // Scales these limits by the TCG speed the global setup measured.
          setupFiles: ['test/vm/setup-timeouts.ts'],
          // Two VM files at once, in budget.json's order (two lanes): one TCG guest keeps about 1.1
          // of CI's 2 cores busy on average (boots use both, installs and commands mostly one),
          // so a second VM beside it uses what is idle. Measured: a fresh-clone `.ci/run`
          // in 1596 s with two (factor 1.0), about 1950 s one at a time (estimated from the files'
          // times alone).
          // Files that share state wait for it (test/helpers/shared.ts installedBase), and a
          // file that checks "nothing left behind" looks only at its own TMPDIR.
          fileParallelism: true,
          maxWorkers: 2,
          testTimeout: 600_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
