// One reporter interface (nixpkgs test-driver logger.py: one logger, several sinks). The engine
// tells reporters what happens (the recorder, recorder.ts, is the only caller); a terminal
// reporter draws it for a person, a GitHub reporter turns it into log groups, annotations and
// outputs. A third CI system is one more reporter and an entry point.
import type { Check } from './verify/checks.js';
import type { PhaseResult, Report, StepResult } from './report.js';

/** What a reporter may ask while the run goes on. */
export interface RunProbe {
  /** The last non-empty line the running guest's serial console showed, if a guest runs. */
  lastSerialLine(): string | undefined;
}

export interface Reporter {
  /** The run starts: where its report and logs go. */
  runStart?(info: { reportPath: string; logDir: string; flake: string; layout: string }, probe: RunProbe): void;
  phaseStart?(p: { id: string; title: string }): void;
  phaseEnd?(p: PhaseResult): void;
  stepStart?(s: { id: string; task: number; title: string }): void;
  stepEnd?(s: StepResult): void;
  check?(c: Check): void;
  /** A line of progress for people (what the engine is doing; not a result). */
  info?(line: string): void;
  /** Something a user should act on that does not fail the run. */
  warn?(line: string): void;
  /** The run ended (report.result is set; report.json is written). */
  runEnd?(report: Report, reportPath: string): void | Promise<void>;
}

/** Every reporter hears every event; one that throws does not silence the others. */
export function fanOut(reporters: Reporter[]): Required<Omit<Reporter, 'runEnd'>> & { runEnd(r: Report, p: string): Promise<void> } {
  const each =
    <K extends keyof Reporter>(k: K) =>
    (...args: Parameters<NonNullable<Reporter[K]>>) => {
      for (const r of reporters) {
        try {
          (r[k] as ((...a: unknown[]) => unknown) | undefined)?.apply(r, args);
        } catch {
          // A reporter's failure costs its own output, never the run.
        }
      }
    };
  return {
    runStart: each('runStart'),
    phaseStart: each('phaseStart'),
    phaseEnd: each('phaseEnd'),
    stepStart: each('stepStart'),
    stepEnd: each('stepEnd'),
    check: each('check'),
    info: each('info'),
    warn: each('warn'),
    /** Every reporter ends; then the first failure is thrown (publishing the report is the point). */
    async runEnd(report, reportPath) {
      const failures: unknown[] = [];
      for (const r of reporters) await Promise.resolve(r.runEnd?.(report, reportPath)).catch((e: unknown) => failures.push(e));
      if (failures.length) throw failures[0];
    },
  };
}
