// `nixos-rehearse doctor`: what this machine offers the engine, and what to fix.
import { type SpeedMeasure, chooseAccel } from './qemu/accel.js';
import { type FirmwarePair, findFirmware } from './qemu/firmware.js';
import { INSTALL_HINT, qemuBinary, qemuImgBinary, toolVersion } from './qemu/tools.js';
import type { Accel } from './qemu/spec.js';
import { commandPath } from './host.js';

const HOST_TOOLS = ['xorriso', 'ssh-keygen', 'ssh'];

export interface DoctorReport {
  ok: boolean;
  qemu: { path?: string; version?: string; error?: string };
  qemuImg: { path?: string; version?: string; error?: string };
  firmware: (FirmwarePair & { error?: undefined }) | { error: string };
  accel?: Accel;
  accelReason?: string;
  kvm?: { usable: boolean; reason: string };
  timeoutScale?: number;
  /** Under TCG: the speed probe's time against its reference (factor 2 = twice as slow as the reference day). */
  speed?: SpeedMeasure;
  /** Other programs a rehearsal runs on the host: where each is, or null when missing. */
  tools: Record<string, string | null>;
  problems: string[];
  fix?: string;
}

export async function doctor(requested: Accel | 'auto' = 'auto'): Promise<DoctorReport> {
  const problems: string[] = [];
  const [q, qi] = await Promise.all([toolVersion(qemuBinary()), toolVersion(qemuImgBinary())]);
  const qemu = q.ok ? { path: q.path, version: q.version } : { error: q.error };
  const qemuImg = qi.ok ? { path: qi.path, version: qi.version } : { error: qi.error };
  if (!q.ok) problems.push(`QEMU not usable: ${q.error}`);
  if (!qi.ok) problems.push(`qemu-img not usable: ${qi.error}`);
  let firmware: DoctorReport['firmware'];
  try {
    firmware = findFirmware();
  } catch (e) {
    firmware = { error: (e as Error).message };
    problems.push('OVMF UEFI firmware not found');
  }
  // xorriso reads the ISO's boot menu; ssh-keygen makes the per-run key, ssh logs in with it.
  const tools: Record<string, string | null> = {};
  for (const t of HOST_TOOLS) {
    tools[t] = commandPath(t) ?? null;
  }
  const missing = HOST_TOOLS.filter((t) => !tools[t]);
  if (missing.length) problems.push(`missing: ${missing.join(', ')} (Debian/Ubuntu: sudo apt-get install xorriso openssh-client)`);
  const report: DoctorReport = { ok: false, qemu, qemuImg, firmware, tools, problems };
  if (q.ok) {
    try {
      const d = await chooseAccel(qemuBinary(), requested);
      report.accel = d.accel;
      report.accelReason = d.reason;
      report.kvm = d.kvm;
      report.timeoutScale = d.timeoutScale;
      if (d.speed) report.speed = d.speed;
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  report.ok = problems.length === 0;
  if (!report.ok) report.fix = missing.length && problems.length === 1 ? 'sudo apt-get install xorriso openssh-client' : INSTALL_HINT;
  return report;
}

/** Human-readable doctor output; pure. */
export function renderDoctor(r: DoctorReport): string {
  const line = (ok: boolean, what: string, detail: string) => `${ok ? 'ok  ' : 'FAIL'}  ${what.padEnd(10)} ${detail}`;
  const out = [
    line(!r.qemu.error, 'qemu', r.qemu.error ?? `${r.qemu.version} (${r.qemu.path})`),
    line(!r.qemuImg.error, 'qemu-img', r.qemuImg.error ?? `${r.qemuImg.version} (${r.qemuImg.path})`),
    line(!r.firmware.error, 'firmware', r.firmware.error ?? `${r.firmware.code} + ${r.firmware.vars} [${r.firmware.source}, ${r.firmware.flash}]`),
  ];
  for (const [t, where] of Object.entries(r.tools ?? {})) out.push(line(!!where, t, where ?? 'not found'));
  if (r.accel) {
    out.push(line(true, 'accel', `${r.accel}: ${r.accelReason}`));
    if (r.speed) out.push(line(true, 'speed', `TCG speed factor ${r.speed.factor} (the speed probe took ${r.speed.probeMs} ms, ${r.speed.referenceMs} ms on the reference machine)`));
    if (r.accel === 'tcg') out.push(`      ${''.padEnd(10)} every timeout is scaled by ${r.timeoutScale} (5 × the speed factor when above 1; NIXOS_REHEARSE_TIMEOUT_SCALE overrides)`);
  }
  if (r.fix) out.push('', `fix: ${r.fix}`);
  return out.join('\n');
}
