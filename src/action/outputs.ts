// What the action tells the workflow (action.yml outputs) and the log, from report.json: pure.
import type { Report } from '../report.js';
import { parseBootctlList, parseGenerations, parseLoaderDefault } from '../verify/parsers.js';

export interface ActionOutputs {
  result: 'pass' | 'fail';
  'report-path': string;
  /** JSON: `[{"generation":1,"date":"…","current":true}, …]` as the installed system listed them last. */
  generations: string;
  /** JSON: the boot menu's entries, `[{"id":"nixos-generation-1.conf","title":"…","default":true}, …]`. */
  'boot-entries': string;
}

export function actionOutputs(r: Report, reportPath: string): ActionOutputs {
  const ev = (id: string) => r.checks.find((c) => c.id === id)?.evidence;
  // The latest listing wins: after a rebuild, the one with generation 2.
  const gens = ev('rebuild-generations') ?? ev('generations');
  const entries = ev('rollback-entries-retained') ?? ev('boot-entries');
  let generations: unknown[] = [];
  let bootEntries: unknown[] = [];
  try {
    generations = gens ? parseGenerations(gens).map((g) => ({ generation: g.number, date: g.date, current: g.current })) : [];
  } catch {
    generations = [];
  }
  try {
    // The evidence is bootctl's JSON, then "--- loader.conf ---" and the file (checks.ts).
    // systemd 252's --json=short has no isDefault: loader.conf's `default` line says it.
    const [json, loader = ''] = entries ? entries.split('\n--- loader.conf ---\n') : [''];
    const def = parseLoaderDefault(loader);
    bootEntries = entries ? parseBootctlList(json!).map((e) => ({ id: e.id, title: e.title, version: e.version, default: e.isDefault ?? e.id === def })) : [];
  } catch {
    bootEntries = [];
  }
  return { result: r.result, 'report-path': reportPath, generations: JSON.stringify(generations), 'boot-entries': JSON.stringify(bootEntries) };
}

/** The error annotation: the first failing runbook Task or check, and the diagnosis when there is one. */
export function failureAnnotation(r: Report): { title: string; message: string } | undefined {
  if (r.result === 'pass') return undefined;
  const step = r.steps.find((s) => s.status === 'fail');
  const check = r.checks.find((c) => c.status === 'fail');
  const d = r.diagnosis?.[0];
  const what = step ? `Runbook Task ${step.task || '-'} (${step.id}) failed: ${step.problems?.[0] ?? step.title}` : check ? `Check ${check.id} failed: ${check.summary}` : `The rehearsal failed: ${r.error?.message ?? 'see the report'}`;
  const why = d ? `\nSymptom: ${d.symptom}\nRoot cause: ${d.cause}\nFix: ${d.fix}` : '';
  return { title: `nixos-rehearse: ${step ? `Task ${step.task || '-'} ${step.title}` : check ? check.id : 'rehearsal'} failed`, message: `${what}${why}` };
}
