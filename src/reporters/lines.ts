// A reporter that turns the run's events into plain lines for a `log(line)` function: what the
// engine's callers passed before reporters existed (tests collect the lines; the action logs
// them). One line per phase title, step result, check, progress line, and the verdict.
import type { Reporter } from '../reporter.js';
import { progressLine } from '../report.js';

export function linesReporter(log: (line: string) => void): Reporter {
  return {
    phaseStart: (p) => log(p.title),
    stepEnd(s) {
      log(progressLine(s));
      if (s.status === 'fail') for (const p of s.problems ?? []) log(`      ${p}`);
    },
    check: (c) => log(`  ${c.status === 'pass' ? '✓' : '✗'} ${c.id.padEnd(24)} ${c.summary}`),
    info: log,
    warn: (line) => log(`warning: ${line}`),
    runEnd: (r, reportPath) => log(`${r.result === 'pass' ? 'PASS' : 'FAIL'}: report ${reportPath}`),
  };
}
