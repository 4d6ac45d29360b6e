// Why a rehearsal failed, in the runbook's terms: "Common mistakes: symptom → root cause → fix"
// and the Decisions of its Tasks and fast diagnosis playbook, plus the engine's own failures in
// the same style. Pure: input is what report.json already holds (steps, checks, error, the boot
// stage from the serial log, the playbook's outputs) and which phase timed out, if one did.
//
// Each rule has a stable id and says which failures it explains. Rules run most specific first;
// every failing step, check, phase or error that no rule explained still gets a generic
// diagnosis naming it and the runbook's Decision for it, so a failed report never gets an empty
// list. A passing report gets [].
import type { Diagnosis } from '../report.js';
import { STEPS } from '../runbook/plan.js';
import { normalizeSerial } from './boot-stage.js';
import { type CheckLike, type Ctx, type DiagnosisInput, type Rule, type Step, clip, errorLine, firstLine, serialInError } from './rule-kit.js';
import { bootHangRule, espNotMountedRule, kernelPanicRule, poolNotImportedRule, rootNotMountedRule } from './rules-boot.js';
import { forgedOutputRule, guestOutOfMemoryRule, isoChecksumMismatchRule, qemuDiedRule, unknownFlakeHostRule } from './rules-engine.js';
import { diskFillingRule, failedUnitsRule, nixosEvaluationRule, passwordLoginAcceptedRule, vmNoNetworkRule, zfsHostIdMissingRule, poolDegradedRule, rebuildFailedRule, rebuildSlowRule, rollbackFailedRule, secretInStoreRule, sshDeadAfterRebootRule } from './rules-system.js';
import { checkDecision } from '../verify/post-boot.js';

export type { DiagnosisId, DiagnosisInput } from './rule-kit.js';

/** Most specific first: what the input proves beats what a deadline suggests. */
export const RULES: readonly Rule[] = [
  forgedOutputRule,
  isoChecksumMismatchRule,
  unknownFlakeHostRule,
  guestOutOfMemoryRule,
  zfsHostIdMissingRule,
  nixosEvaluationRule,
  kernelPanicRule,
  poolNotImportedRule,
  rootNotMountedRule,
  espNotMountedRule,
  poolDegradedRule,
  secretInStoreRule,
  passwordLoginAcceptedRule,
  vmNoNetworkRule,
  sshDeadAfterRebootRule,
  diskFillingRule,
  rebuildSlowRule,
  rebuildFailedRule,
  rollbackFailedRule,
  failedUnitsRule,
  bootHangRule,
  qemuDiedRule,
];


function stepFailed(s: Step): Diagnosis {
  const plan = STEPS.find((p) => p.id === s.id);
  const decision = s.decision ?? plan?.decision ?? 'Read the step’s output in the report.';
  const title = s.title ?? plan?.title ?? s.id;
  const problems = (s.problems ?? []).join('; ');
  return {
    id: 'step-failed',
    symptom: `${s.task ? `Task ${s.task}` : s.id} (${title}) failed${problems ? `: ${clip(problems, 500)}` : ''}.`,
    cause: problems ? `What the Task’s check saw: ${clip(problems, 500)}.` : 'The Task’s commands failed; the report holds their output.',
    fix: decision,
    runbook: s.task ? `Task ${s.task}` : undefined,
  };
}

function checkFailed(ch: CheckLike): Diagnosis {
  // The Decision each check declares (verify/post-boot.ts, the one place a check is described).
  const d = checkDecision(ch.id);
  return {
    id: 'check-failed',
    symptom: `The check ${ch.id} failed: ${ch.summary}.`,
    cause: `What it read: ${clip(errorLine(ch.evidence) || '(no output)', 300)}`,
    fix: d?.text ?? 'Read the check’s evidence in the report.',
    runbook: d?.section,
  };
}

/** Why the rehearsal failed, most specific first; [] when nothing failed. */
export function diagnose(input: DiagnosisInput): Diagnosis[] {
  const steps = input.steps ?? [];
  const checks = input.checks ?? [];
  const failedSteps = steps.filter((s) => s.status === 'fail');
  const failed = new Map(checks.filter((c) => c.status === 'fail').map((c) => [c.id, c]));
  const failedPhases = (input.phases ?? []).filter((p) => p.status === 'fail');
  const error = input.error;
  const anyFailure = input.result === 'fail' || failedSteps.length > 0 || failed.size > 0 || failedPhases.length > 0 || !!error || !!input.timedOutPhase;
  if (!anyFailure) return [];

  const serial = normalizeSerial([input.stage?.serialTail ?? '', input.stage?.evidence ?? '', serialInError(error)].join('\n'));
  const explained = new Set<string>();
  const ctx: Ctx = {
    input,
    failedSteps,
    failed,
    error,
    serial,
    reached: input.stage?.reached,
    play: (id) => input.playbook?.find((p) => p.id === id),
    explained,
  };

  const out: Diagnosis[] = [];
  for (const r of RULES) {
    // pool-not-imported and root-not-mounted read the same stage 1 failure: one of them.
    if (r.id === 'root-not-mounted' && out.some((d) => d.id === 'pool-not-imported')) continue;
    const f = r.find(ctx);
    if (!f) continue;
    const { explains, ...d } = f;
    out.push({ id: r.id, ...d });
    for (const e of explains) explained.add(e);
  }

  // Whatever no rule accounted for still gets its own line, with the runbook's Decision.
  for (const s of failedSteps) if (!explained.has(`step:${s.id}`)) out.push(stepFailed(s));
  for (const ch of failed.values()) if (!explained.has(`check:${ch.id}`)) out.push(checkFailed(ch));
  if (error && !explained.has('error')) {
    out.push({ id: 'run-error', symptom: `The run stopped: ${clip(firstLine(error.message), 500)}.`, cause: 'An error outside the runbook’s Tasks and checks (its message says which input or tool).', fix: 'Act on the message, then rerun; `nixos-rehearse doctor` checks the host’s tools.' });
  }
  if (!out.length) {
    for (const p of failedPhases) {
      if (explained.has(`phase:${p.id}`)) continue;
      out.push({ id: 'phase-failed', symptom: `The ${p.title ?? p.id} phase failed with no failing step or check.`, cause: 'The phase’s own work failed (for power-off: unmounting /mnt or exporting the pool).', fix: 'Read the phase’s lines in the run log.' });
    }
  }
  if (!out.length) out.push({ id: 'run-error', symptom: 'The rehearsal failed without a failing step, check or error.', cause: 'Nothing in the report says why.', fix: 'Read the run log and logs/; report the run if it repeats.' });
  return out.map((d) => (d.runbook === undefined ? omitRunbook(d) : d));
}

function omitRunbook(d: Diagnosis): Diagnosis {
  const { runbook: _, ...rest } = d;
  return rest;
}
