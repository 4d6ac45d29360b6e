// Why a rehearsal failed, for report.json's `stage`, `playbook` and `diagnosis`: the boot stage
// read from the serial console, the runbook's fast diagnosis playbook as data, and its
// "symptom → root cause → fix" rules. All pure; the engine gathers the inputs.
export { type BootStage, type BootStageName, bootStage, firmwareFailures, kernelPanic, normalizeSerial, stage1Failure } from './boot-stage.js';
export { PLAYBOOK, type PlaybookId, type PlaybookStep, playbookFor } from './playbook.js';
export { type DiagnosisId, type DiagnosisInput, diagnose } from './rules.js';
