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
          // 2 cores, TCG: one VM at a time.
          fileParallelism: false,
          testTimeout: 600_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
