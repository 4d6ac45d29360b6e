// The GitHub Action's entry point (dist/index.js). For now it checks the runner with `doctor`
// and reports it; the rehearsal itself is wired in by later work.
import * as core from '@actions/core';
import { doctor, renderDoctor } from './doctor.js';

async function main() {
  const accel = (core.getInput('accel') || 'auto') as 'auto' | 'kvm' | 'tcg';
  if (!['auto', 'kvm', 'tcg'].includes(accel)) throw new Error(`input accel must be auto, kvm or tcg, got ${accel}`);
  const r = await doctor(accel);
  core.info(renderDoctor(r));
  if (r.accel) core.setOutput('accel', r.accel);
  if (r.accel === 'tcg') core.warning(`no KVM: ${r.kvm?.reason ?? r.accelReason}. The rehearsal runs under TCG, much slower.`);
  if (!r.ok) core.setFailed(`the runner cannot run the rehearsal: ${r.problems.join('; ')}. ${r.fix ?? ''}`);
  if (process.env.GITHUB_STEP_SUMMARY) {
    await core.summary.addHeading('nixos-rehearse doctor', 3).addCodeBlock(renderDoctor(r)).write();
  }
}

main().catch((e: Error) => core.setFailed(e.message));
