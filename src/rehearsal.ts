// The rehearsal: a short pipeline of phase modules (src/phases/) run in order, each under one
// time limit, recorded by the recorder (recorder.ts, the only owner of report.json), with
// failures and teardown handled here in one place. Every exit path writes the report and keeps
// the logs; nothing outside the run's own disk images is ever written.
import { execaSync } from 'execa';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { register } from './cleanup.js';
import { RehearseError, stageTail } from './errors.js';
import { FAULT_DESCRIPTIONS, faultHooks } from './faults.js';
import { resolveFlake } from './flake.js';
import { cacheDir as defaultCacheDir } from './host.js';
import { hostNotReady } from './host-ready.js';
import { resolveIso, sha256File } from './iso/source.js';
import { DEFAULT_PHASE_TIMEOUT_MINUTES, LIMITS, LimitError } from './limits.js';
import { ownedTempDir, removeLeftovers } from './leftovers.js';
import { bootInstallerPhase } from './phases/boot-installer.js';
import { afterFailure } from './phases/failure.js';
import { fromInstalled } from './phases/from-installed.js';
import { installPhase } from './phases/install.js';
import { powerOffPhase } from './phases/power-off.js';
import type { Phase, PhaseContext } from './phases/types.js';
import { rebuildPhase, rollbackPhase, upgradePhase } from './phases/upgrade.js';
import { rebootPhase, rebootUpgradedPhase, verifyPhase } from './phases/verify.js';
import { chooseAccel } from './qemu/accel.js';
import { Machine } from './qemu/machine.js';
import { DEFAULT_MEMORY_MIB } from './qemu/spec.js';
import { qemuBinary } from './qemu/tools.js';
import { Recorder } from './recorder.js';
import type { RehearsalOptions } from './options.js';
import type { Reporter } from './reporter.js';
import { linesReporter } from './reporters/lines.js';
import type { PhaseResult, Report } from './report.js';
import { layoutByName } from './runbook/layouts.js';
import { GUEST_FLAKE } from './runbook/harness.js';
import { baseCacheDir, baseKeyFor, usableBase } from './upgrade/base-cache.js';
import { parseAllowed } from './egress/policy.js';
import { egressRelay } from './egress/command.js';

export { readSavedInstall, type SavedInstall } from './saved-install.js';
export { runPlaybook } from './phases/failure.js';
export type { Fault } from './faults.js';
/** What each fault does (faults.ts holds their hooks). */
export const FAULTS = FAULT_DESCRIPTIONS;

export type { RehearsalOptions } from './options.js';

export class PhaseTimeoutError extends RehearseError {
  override name = 'PhaseTimeoutError';
  constructor(
    readonly phase: string,
    readonly minutes: number,
  ) {
    super('phase-timeout', `phase ${phase} timed out after ${minutes} min (the per-phase limit): the VM was stopped`, { phase, minutes });
  }
}

export interface RehearsalResult {
  report: Report;
  reportPath: string;
  exitCode: number;
}

/** The installer's phases, then the installed system's; a kept install starts at the reboot. */
const INSTALL: readonly Phase[] = [bootInstallerPhase, installPhase, powerOffPhase];
const INSTALLED: readonly Phase[] = [rebootPhase, verifyPhase, rebuildPhase, upgradePhase, rebootUpgradedPhase, rollbackPhase];

/** Every phase has a limit: the caller's, else the default (a timer past 2^31 ms would fire at once). */
function phaseLimit(o: RehearsalOptions): number {
  const minutes = o.phaseTimeoutMinutes ?? DEFAULT_PHASE_TIMEOUT_MINUTES;
  if (!(minutes > 0 && minutes <= LIMITS.phaseTimeoutMinutes.max)) throw new LimitError('phaseTimeoutMinutes', String(o.phaseTimeoutMinutes), `more than 0 and at most ${LIMITS.phaseTimeoutMinutes.max} minutes`);
  return minutes;
}

function reportersOf(o: RehearsalOptions): Reporter[] {
  const rs = [...(o.reporters ?? [])];
  if (o.log) rs.push(linesReporter(o.log));
  if (o.events?.phaseStart || o.events?.phaseEnd) rs.push({ phaseStart: (p) => o.events?.phaseStart?.(p.id, p.title), phaseEnd: (p) => o.events?.phaseEnd?.(p) });
  return rs;
}

/** What the run owns on the host: removed at its end (and on a signal) unless kept. */
interface Owned {
  workDir: string;
  keepDisks: boolean;
  keyDir?: string;
}

function removeOwned(w: Owned): void {
  if (w.keyDir) rmSync(w.keyDir, { recursive: true, force: true });
  if (!w.keepDisks) rmSync(w.workDir, { recursive: true, force: true });
}

export async function runRehearsal(o: RehearsalOptions): Promise<RehearsalResult> {
  const minutes = phaseLimit(o);
  const outDir = path.resolve(o.outDir);
  const logDir = path.join(outDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const rec = new Recorder({ outDir, logDir, reportPath: path.join(outDir, 'report.json') }, { iso: { path: o.iso }, flake: o.flake, layout: o.layout, lockChanges: o.lockChanges }, reportersOf(o));
  // What killed runs left in $TMPDIR (their owner is gone): removed before this run makes its own.
  for (const d of removeLeftovers()) rec.info(`removed ${d}, left by a run that was killed`);
  rec.start({ lastSerialLine: () => lastSerialLine() });
  if (o.fault && !(o.fault in FAULT_DESCRIPTIONS)) throw new RehearseError('input', `unknown fault '${o.fault}': choose one of ${Object.keys(FAULT_DESCRIPTIONS).join(', ')}`, { fault: o.fault });
  if (o.fault) rec.set({ fault: { id: o.fault, what: FAULT_DESCRIPTIONS[o.fault] } });
  if (o.network !== undefined && o.network !== 'internet' && o.network !== 'none') throw new RehearseError('input', `unknown network '${String(o.network)}': choose internet (the default) or none`, { network: String(o.network) });
  rec.set({ network: o.network ?? 'internet' });
  // The disks outlive the installer VM: the installed system boots from them afterwards.
  const owned: Owned = { workDir: o.workDir ?? ownedTempDir('nixos-rehearse-run-'), keepDisks: !!(o.keep || o.workDir) };
  const memoryMiB = o.memoryMiB ?? DEFAULT_MEMORY_MIB;
  let ctx: PhaseContext | undefined;
  // SIGINT/SIGTERM: the report says so and stays on disk; the run's temporary files go.
  const unregister = register({
    describe: `rehearsal writing ${rec.paths.reportPath}`,
    teardown: async () => {
      rec.error(new RehearseError('interrupted', 'interrupted by a signal before the rehearsal finished'));
      rec.conclude(memoryMiB);
    },
    teardownSync: () => removeOwned(owned),
  });
  try {
    ctx = await prepare(o, rec, owned);
    const from = o.installed ?? (await cachedBase(ctx));
    if (from) await fromInstalled(ctx, from);
    // `verify: false` stops after the install (a base made for later runs).
    const installed = o.verify === false ? [] : INSTALLED;
    await runPipeline(ctx, from ? installed : [...INSTALL, ...installed], minutes);
  } catch (e) {
    recordError(rec, e);
  } finally {
    unregister();
    await teardown(ctx, owned);
    removeOwned(owned);
    if (owned.keepDisks) rec.info(`disks and EFI variables kept in ${owned.workDir}`);
  }
  // A cached base that does not boot is never trusted again: the base is installed afresh.
  const unbootable = ctx?.cachedBase && rec.report.phases.find((p) => p.id === 'reboot')?.status === 'fail';
  if (unbootable) {
    rmSync(ctx!.cachedBase!, { recursive: true, force: true });
    rec.info(`the cached base ${ctx!.cachedBase} did not boot: it is discarded, and the base installed afresh`);
    return runRehearsal({ ...o, baseCacheFallback: `the cached base ${ctx!.cachedBase} did not boot` });
  }
  const ok = rec.conclude(memoryMiB);
  await rec.end();
  return { report: rec.report, reportPath: rec.paths.reportPath, exitCode: ok ? 0 : 1 };
}

/**
 * Upgrade mode's cached base (upgrade/base-cache.ts): where to start from when the cache holds
 * a usable one; otherwise where the install keeps the base for the next run. Never with a fault,
 * a caller's own kept install, or `baseCache: false`.
 */
async function cachedBase(ctx: PhaseContext): Promise<string | undefined> {
  const o = ctx.o;
  if (ctx.mode !== 'upgrade' || o.baseCache === false || o.fault || o.saveInstalled) return undefined;
  // A local ISO given without --sha256 is hashed here: the key must name the ISO's content.
  const isoSha256 = ctx.iso.sha256 ?? (await sha256File(ctx.iso.path));
  const key = await baseKeyFor({ isoSha256, baseDir: ctx.flake.dir, host: ctx.flake.host, layout: ctx.layout.name, disks: ctx.disks.length, diskSize: o.diskSize ?? '20G' });
  const dir = baseCacheDir(ctx.cacheDir, key);
  const fallback = o.baseCacheFallback;
  if (existsSync(dir) && !fallback) {
    const u = await usableBase(dir);
    if (u.ok) {
      ctx.cachedBase = dir;
      ctx.rec.info(`  upgrade mode: the base is taken from the cache (${dir}): no installer, no install`);
      return dir;
    }
    ctx.rec.info(`  upgrade mode: the cached base ${dir} cannot be used (${u.why}): it is discarded, and the base installed afresh`);
    ctx.rec.set({ base: { ...ctx.rec.report.base!, cacheFallback: u.why } });
  }
  if (fallback) ctx.rec.set({ base: { ...ctx.rec.report.base!, cacheFallback: fallback } });
  ctx.saveTo = dir;
  return undefined;
}

/** The last line the running guest's serial console showed (the CLI's live line). */
function lastSerialLine(): string | undefined {
  const m = [...Machine.running].at(-1);
  return m?.serialTail(5).split('\n').map((l) => l.trim()).filter(Boolean).at(-1);
}

/** Inputs first (nothing boots and nothing is created on a bad one), then the ISO, the accelerator, this run's key and disks. */
async function prepare(o: RehearsalOptions, rec: Recorder, owned: Owned): Promise<PhaseContext> {
  const layout = layoutByName(o.layout);
  let allowed: string[] = [];
  try {
    allowed = parseAllowed(o.networkAllow ?? []).entries;
  } catch (e) {
    throw new RehearseError('input', (e as Error).message, { networkAllow: (o.networkAllow ?? []).join(' ') });
  }
  if (allowed.length && o.network === 'none') throw new RehearseError('input', `--network-allow ${allowed.join(' ')} has no effect with --network none: the VM reaches nothing`, { networkAllow: allowed.join(' ') });
  if (allowed.length) rec.set({ networkAllow: allowed });
  // Upgrade mode installs the base and switches to the configuration under test.
  const target = resolveFlake(o.flake);
  const flake = o.upgradeFrom ? resolveFlake(o.upgradeFrom) : target;
  if (flake.host !== target.host) throw new RehearseError('input', `--upgrade-from names host ${flake.host} and --flake host ${target.host}: an upgrade keeps the machine, so both must name the same host`, { base: flake.host, target: target.host });
  if (o.upgradeFrom) rec.set({ mode: 'upgrade', base: { flake: flake.ref } });
  // The host before the ISO: a missing QEMU is said before a 1 GiB download, not after.
  const notReady = hostNotReady();
  if (notReady) throw notReady;
  const cacheDir = o.cacheDir ?? defaultCacheDir();
  const iso = await resolveIso(o.iso, o.sha256, cacheDir, (l) => rec.info(l));
  rec.set({ iso: { path: iso.path, sha256: iso.sha256 } });
  const accel = await chooseAccel(qemuBinary(), o.accel ?? 'auto');
  rec.set({ accel: accel.accel, speed: { ...(accel.speed ?? {}), timeoutScale: accel.timeoutScale } });
  rec.info(`accelerator: ${accel.accel} (${accel.reason})${accel.speed ? `; TCG speed factor ${accel.speed.factor} (probe ${accel.speed.probeMs} ms, reference ${accel.speed.referenceMs} ms): waits scaled ×${accel.timeoutScale}` : ''}`);
  // This run's SSH key: the public half goes into the harness module, the private half stays
  // in a temporary directory on the host.
  owned.keyDir = ownedTempDir('nixos-rehearse-key-');
  const keyFile = path.join(owned.keyDir, 'id_ed25519');
  execaSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'nixos-rehearse', '-f', keyFile]);
  const runId = randomBytes(3).toString('hex').toUpperCase();
  const serials = Array.from({ length: layout.disks }, (_, i) => `NR${runId}D${i}`);
  return {
    o, rec, layout, flake, target, mode: o.upgradeFrom ? 'upgrade' : 'install', cacheDir, logDir: rec.paths.logDir, workDir: owned.workDir, keyDir: owned.keyDir, keepDisks: owned.keepDisks,
    iso: { path: iso.path, sha256: iso.sha256 },
    accel: { accel: accel.accel, timeoutScale: accel.timeoutScale },
    memoryMiB: o.memoryMiB ?? DEFAULT_MEMORY_MIB,
    cpus: o.cpus ?? 2,
    network: o.network === 'none' ? 'none' : 'public',
    egress: o.network === 'none' ? undefined : egressRelay(path.join(rec.paths.logDir, 'egress.log'), allowed),
    fault: faultHooks(o.fault),
    saveTo: o.saveInstalled,
    disks: serials.map((serial, i) => ({ id: `disk${i}`, serial: o.diskSerials?.[i] ?? serial })),
    plan: { layout, serials, disks: [], flakeRef: `${GUEST_FLAKE}#${flake.host}` },
    installed: { toplevel: '', espPartuuids: [], vmHardware: '', sshPublicKey: readFileSync(`${keyFile}.pub`, 'utf8').trim(), sshPrivateKeyFile: keyFile },
  };
}

/**
 * The phases in order. A phase that fails stops the ones after it (but those that run after a
 * failure, like the power-off of kept disks); the guest that saw the failure runs the playbook
 * once. A phase that throws is the run's error.
 */
async function runPipeline(ctx: PhaseContext, phases: readonly Phase[], minutes: number): Promise<void> {
  let failed = false;
  for (const phase of phases) {
    if (phase.when ? !phase.when(ctx, failed) : failed) continue;
    let ok = false;
    let threw = false;
    try {
      ok = await runPhase(ctx, phase, minutes);
    } catch (e) {
      recordError(ctx.rec, e, phase.id);
      threw = true;
    }
    const goOn = typeof phase.continueOnFailure === 'function' ? phase.continueOnFailure(ctx) : !!phase.continueOnFailure;
    if (ok || (goOn && !threw)) continue;
    if (!failed && ctx.vm) await afterFailure(ctx, ctx.vm).catch(() => {});
    failed = true;
    if (threw) break;
  }
  // Checks that failed while the pipeline went on: the playbook on the last guest.
  if (!failed && ctx.rec.anyCheckFailed && ctx.vm) await afterFailure(ctx, ctx.vm).catch(() => {});
}

/** One phase under its time limit, recorded; the limit stops every VM so that its waits end at once. */
async function runPhase(ctx: PhaseContext, phase: Phase, minutes: number): Promise<boolean> {
  const p: PhaseResult = ctx.rec.phaseStart(phase.id, phase.title);
  const t0 = Date.now();
  let timer: NodeJS.Timeout | undefined;
  let passed = false;
  const work = phase.run(ctx);
  try {
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new PhaseTimeoutError(phase.id, minutes)), minutes * 60_000);
    });
    passed = await Promise.race([work, limit]);
    return passed;
  } catch (e) {
    if (e instanceof PhaseTimeoutError) {
      // What the guest showed last, then stop it: the phase's own waits end at once.
      for (const m of Machine.running) ctx.rec.stage(m.serialTail(200));
      await Promise.allSettled([...Machine.running].map((m) => m.stop()));
      // Bounded: work that waits on something other than the VM must not hold the report.
      await Promise.race([work.catch(() => {}), new Promise((r) => setTimeout(r, 30_000).unref())]);
    }
    throw e;
  } finally {
    clearTimeout(timer);
    ctx.rec.phaseEnd(p, passed, t0);
  }
}

/** The run's error (the first wins), the phase whose limit fired, and a guest's boot stage. */
function recordError(rec: Recorder, e: unknown, phase?: string): void {
  rec.error(e, { phase });
  if (e instanceof PhaseTimeoutError) rec.set({ timedOutPhase: e.phase });
  const serialTail = stageTail(e);
  if (serialTail) rec.stage(serialTail, { ifUnset: true });
}

/**
 * The last VM stops. Kept disks get a clean shutdown of the installed system first (a red
 * install's installer was already powered off by its phase); thrown-away disks are not worth
 * the tens of seconds a clean shutdown costs under TCG.
 */
async function teardown(ctx: PhaseContext | undefined, owned: Owned): Promise<void> {
  const m = ctx?.vm;
  if (!m) return;
  if (m.isRunning && owned.keepDisks && m.name !== 'installer') await m.shutdown(120).catch(() => {});
  await m.stop();
}
