// The install rehearsal: boot the installer ISO, run the runbook's Tasks 1–13 (runbook/plan.ts)
// on disks the engine created, power off, and write report.json. Every exit path writes the
// report and keeps the logs; nothing outside the run's own disk images is ever written.
import { execaSync } from 'execa';
import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cacheDir } from './host.js';
import path from 'node:path';
import { resolveFlake } from './flake.js';
import { renderReportSafely } from './render.js';
import { startInstaller } from './installer.js';
import { resolveIso, sha256File } from './iso/source.js';
import { chooseAccel } from './qemu/accel.js';
import { createDisk } from './qemu/disks.js';
import { discardInstallerState, installerState } from './installer-state.js';
import { RestoreError } from './installer.js';
import { Machine } from './qemu/machine.js';
import { DEFAULT_MEMORY_MIB } from './qemu/spec.js';
import { bootStage, oomKills } from './diagnosis/boot-stage.js';
import { playbookFor } from './diagnosis/playbook.js';
import { diagnose } from './diagnosis/rules.js';
import { register } from './cleanup.js';
import { qemuBinary } from './qemu/tools.js';
import { type Injected, type LockChange, type PhaseResult, type PlaybookOutput, type Report, type StepResult, progressLine, tail } from './report.js';
import { GUEST_CONFIG, GUEST_FLAKE, harnessModule, rehearsePassword, vmHardwareModule, wrapperFlake } from './runbook/harness.js';
import { layoutByName } from './runbook/layouts.js';
import { parseHardwareConfig } from './runbook/parsers.js';
import { type PlanContext, STEPS, type Step, part } from './runbook/plan.js';
import { verifyInstalled } from './verify.js';
import { DEFAULT_PHASE_TIMEOUT_MINUTES, LIMITS, LimitError } from './limits.js';
import { flakeFiles } from './flake-files.js';
import { ownedTempDir, removeLeftovers } from './leftovers.js';

export interface RehearsalOptions {
  iso: string;
  sha256?: string;
  /** `<dir>#<host>`. */
  flake: string;
  layout: string;
  diskSize?: string;
  memoryMiB?: number;
  cpus?: number;
  accel?: 'auto' | 'kvm' | 'tcg';
  outDir: string;
  cacheDir?: string;
  keep?: boolean;
  /** Where the VM's disks and EFI variables go (default: a temporary directory, removed unless keep). */
  workDir?: string;
  /**
   * The serials QEMU gives the disks (default: this run's own). A test passes foreign ones to
   * see Task 2's wrong-disk guard refuse disks the run did not create.
   */
  diskSerials?: string[];
  /** After the install: reboot and verify (default true); then rebuild and roll back (default true). */
  verify?: boolean;
  rebuild?: boolean;
  /**
   * A limit per phase, in minutes (default: none beyond the engine's own waits). When it fires,
   * the phase fails, the VMs are stopped, and the report names the phase and the boot stage.
   */
  phaseTimeoutMinutes?: number;
  /** A fault injected on purpose (the fault tests, and to see what a red run looks like). */
  fault?: Fault;
  /**
   * Restore the installer booted once and saved in the cache (installer-state.ts) instead of
   * booting the ISO again; made on first use. Not with the boot faults (kernel-panic, boot-hang).
   */
  reuseInstaller?: boolean;
  /**
   * Keep the installed system, as the install powered it off, in this directory (its disks as
   * qcow2 images, the EFI variables, this run's key and what the install produced) for
   * `installed`; the run goes on over copy-on-write overlays, so it never changes them.
   */
  saveInstalled?: string;
  /**
   * Start from an installed system kept by `saveInstalled`: no installer, no install; boot its
   * disks (overlays over them) through the firmware, then verify, rebuild and roll back as usual.
   */
  installed?: string;
  /** flake.lock inputs this change updates (the action computes them for pull requests). */
  lockChanges?: LockChange[];
  /** Phase boundaries, for the action's log groups. */
  events?: {
    phaseStart?: (id: string, title: string) => void;
    phaseEnd?: (p: PhaseResult) => void;
    /** The installed system, running, once the post-boot checks are done: more checks of the caller's own. */
    verified?: (m: Machine) => Promise<void>;
  };
  log?: (line: string) => void;
}

/**
 * Faults the engine can inject, each a failure a user can meet for real: the rehearsal must go
 * red and say why in the runbook's terms (report.diagnosis). The report records the fault.
 */
export const FAULTS = {
  'esp-not-mounted': 'unmount /mnt/boot right before Task 12 (nixos-install), as when the ESP was never mounted',
  'remove-mirror-disk': 'hot-unplug the second disk (QMP device_del) after the install, before the reboot',
  'kernel-panic': 'boot the installer kernel with rdinit=/nonexistent: it finds no init and panics mounting a root it cannot name',
  'boot-hang': 'freeze the installer VM (QMP stop) once its kernel has started',
  'kill-qemu': 'SIGKILL QEMU in the middle of the install (at Task 6, the pool)',
  'forge-marker': "make Task 1's command write a forged command-completion marker straight to the control console",
} as const;
export type Fault = keyof typeof FAULTS;

export class PhaseTimeoutError extends Error {
  override name = 'PhaseTimeoutError';
  constructor(
    readonly phase: string,
    readonly minutes: number,
  ) {
    super(`phase ${phase} timed out after ${minutes} min (the per-phase limit): the VM was stopped`);
  }
}

/** What `saveInstalled` keeps beside the disks (installed.json). */
export interface SavedInstall {
  schema: 1;
  layout: string;
  flake: string;
  host: string;
  disks: Array<{ id: string; serial: string; file: string }>;
  efiVars: string;
  toplevel: string;
  espPartuuids: string[];
  injected: Injected[];
  sshPublicKey: string;
  sshPrivateKeyFile: string;
  isoSha256?: string;
  savedAt: string;
}

export function readSavedInstall(dir: string): SavedInstall {
  const file = path.join(dir, 'installed.json');
  if (!existsSync(file)) throw new Error(`${dir} holds no installed system (no installed.json): make one with saveInstalled / --keep-installed`);
  const s = JSON.parse(readFileSync(file, 'utf8')) as SavedInstall;
  for (const d of s.disks) if (!existsSync(d.file)) throw new Error(`${dir}: the installed disk ${d.file} is missing`);
  return s;
}

export interface RehearsalResult {
  report: Report;
  reportPath: string;
  exitCode: number;
}

export async function runRehearsal(o: RehearsalOptions): Promise<RehearsalResult> {
  const log = o.log ?? (() => {});
  // Every phase has a limit: the caller's, else the default (a JavaScript timer past 2^31 ms
  // would fire at once, so the engine refuses what the entry points would).
  const phaseMinutes = o.phaseTimeoutMinutes ?? DEFAULT_PHASE_TIMEOUT_MINUTES;
  if (!(phaseMinutes > 0 && phaseMinutes <= LIMITS.phaseTimeoutMinutes.max)) throw new LimitError('phaseTimeoutMinutes', String(o.phaseTimeoutMinutes), `more than 0 and at most ${LIMITS.phaseTimeoutMinutes.max} minutes`);
  const started = Date.now();
  const outDir = path.resolve(o.outDir);
  const logDir = path.join(outDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const reportPath = path.join(outDir, 'report.json');
  const report: Report = {
    schema: 1,
    result: 'fail',
    accel: 'unknown',
    iso: { path: o.iso },
    flake: o.flake,
    layout: o.layout,
    installPath: 'flake',
    injected: [],
    phases: [],
    steps: [],
    checks: [],
    startedAt: new Date(started).toISOString(),
    durationMs: 0,
    logs: { dir: logDir },
  };
  if (o.lockChanges) report.lockChanges = o.lockChanges;
  // What killed runs left in $TMPDIR (their owner is gone): removed before this run makes its own.
  for (const d of removeLeftovers()) log(`removed ${d}, left by a run that was killed`);
  const write = () => {
    report.durationMs = Date.now() - started;
    writeFileSync(reportPath, `${JSON.stringify(report, null, 2)}\n`);
    // report.json is the record; a rendering problem must not cost it (renderReportSafely).
    writeFileSync(path.join(outDir, 'report.md'), renderReportSafely(report).markdown);
  };
  report.unfinished = 'the run had not finished when this was written: it is still running, or it was killed';
  write();
  let machine: Machine | undefined;
  let keyDir: string | undefined;
  // The disks outlive the installer VM: the installed system boots from them afterwards.
  const workDir = o.workDir ?? ownedTempDir('nixos-rehearse-run-');
  /** The disks outlive the run (--keep, or a work directory of the caller's). */
  const keepDisks = !!(o.keep || o.workDir);
  const phase = async (id: string, title: string, fn: () => Promise<boolean>) => {
    const p: PhaseResult = { id, title, status: 'fail', durationMs: 0 };
    report.phases.push(p);
    const t0 = Date.now();
    log(`${title}`);
    o.events?.phaseStart?.(id, title);
    let timer: NodeJS.Timeout | undefined;
    try {
      const work = fn();
      const limit = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new PhaseTimeoutError(id, phaseMinutes)), phaseMinutes * 60_000);
      });
      try {
        p.status = (await Promise.race([work, limit])) ? 'pass' : 'fail';
      } catch (e) {
        if (e instanceof PhaseTimeoutError) {
          // What the guest showed last, then stop it: the phase's own waits end at once.
          for (const mm of Machine.running) noteStage(mm);
          await Promise.allSettled([...Machine.running].map((mm) => mm.stop()));
          // Bounded: work that waits on something other than the VM must not hold the report.
          await Promise.race([work.catch(() => {}), new Promise((r) => setTimeout(r, 30_000).unref())]);
        }
        throw e;
      }
    } finally {
      clearTimeout(timer);
      p.durationMs = Date.now() - t0;
      write();
      o.events?.phaseEnd?.(p);
    }
    return p.status === 'pass';
  };
  /** The verdict, and on a failure the boot stage reached and the diagnosis (runbook terms). */
  const conclude = (): boolean => {
    delete report.unfinished;
    // Whether a guest ran out of memory, pass or fail: every serial console of the run.
    try {
      const lines = readdirSync(logDir)
        .filter((f) => /^serial-.*\.log$/.test(f))
        .flatMap((f) => oomKills(readFileSync(path.join(logDir, f), 'utf8')));
      if (lines.length) report.oom = { memoryMiB: o.memoryMiB ?? DEFAULT_MEMORY_MIB, lines };
    } catch {
      // The logs are evidence, not the verdict: an unreadable one costs only this line.
    }
    const ok =
      !report.error &&
      report.phases.length > 0 &&
      report.phases.every((p) => p.status === 'pass') &&
      report.steps.every((s) => s.status === 'pass') &&
      report.checks.every((c) => c.status === 'pass');
    report.result = ok ? 'pass' : 'fail';
    try {
      report.diagnosis = ok ? [] : diagnose(report);
    } catch (e) {
      // A diagnosis rule must never cost the report.
      report.diagnosis = [{ id: 'run-error', symptom: report.error ?? 'the rehearsal failed', cause: `the diagnosis could not be made: ${(e as Error).message}`, fix: 'Read the failing step or check and the serial logs.' }];
    }
    return ok;
  };
  /**
   * After a failure: the playbook's answers when the guest still answers, else how far its boot
   * got (the serial console's last lines).
   */
  const afterFailure = async (mm: Machine, kind: 'zfs' | 'ext4' | 'btrfs') => {
    const alive = await mm.alive();
    if (alive) {
      log('running the fast diagnosis playbook in the guest');
      report.playbook = await runPlaybook(mm, kind);
      write();
    }
    if (!alive || report.playbook?.some((p) => p.exitCode === -1)) noteStage(mm);
  };
  /** The boot stage a VM reached and its serial tail, for a guest that stopped answering. */
  const noteStage = (mm: Machine) => {
    report.stage = stageOf(mm.serialTail(200));
  };
  if (o.fault) {
    if (!(o.fault in FAULTS)) throw new Error(`unknown fault '${o.fault}': choose one of ${Object.keys(FAULTS).join(', ')}`);
    report.fault = { id: o.fault, what: FAULTS[o.fault] };
  }
  // SIGINT/SIGTERM: the report says so and stays on disk; the run's temporary files go.
  const unregister = register({
    describe: `rehearsal writing ${reportPath}`,
    teardown: async () => {
      report.error ??= 'interrupted by a signal before the rehearsal finished';
      conclude();
      write();
    },
    teardownSync: () => {
      if (keyDir) rmSync(keyDir, { recursive: true, force: true });
      if (!keepDisks) rmSync(workDir, { recursive: true, force: true });
    },
  });
  try {
    // Inputs first: nothing boots and nothing is created on a bad one.
    const layout = layoutByName(o.layout);
    const flake = resolveFlake(o.flake);
    const iso = await resolveIso(o.iso, o.sha256, o.cacheDir ?? cacheDir(), log);
    report.iso = { path: iso.path, sha256: iso.sha256 };
    const accel = await chooseAccel(qemuBinary(), o.accel ?? 'auto');
    report.accel = accel.accel;
    report.speed = { ...(accel.speed ?? {}), timeoutScale: accel.timeoutScale };
    log(`accelerator: ${accel.accel} (${accel.reason})${accel.speed ? `; TCG speed factor ${accel.speed.factor} (probe ${accel.speed.probeMs} ms, reference ${accel.speed.referenceMs} ms): waits scaled ×${accel.timeoutScale}` : ''}`);

    // This run's SSH key: the public half goes into the harness module, the private half stays
    // in a temporary directory on the host.
    keyDir = ownedTempDir('nixos-rehearse-key-');
    execaSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'nixos-rehearse', '-f', path.join(keyDir, 'id_ed25519')]);
    const publicKey = readFileSync(path.join(keyDir, 'id_ed25519.pub'), 'utf8').trim();

    const runId = randomBytes(3).toString('hex').toUpperCase();
    const serials = Array.from({ length: layout.disks }, (_, i) => `NR${runId}D${i}`);
    // What QEMU is given: the same disks for the installer and the installed system.
    const disks = serials.map((serial, i) => ({ id: `disk${i}`, serial: o.diskSerials?.[i] ?? serial }));
    const ctx: PlanContext = { layout, serials, disks: [], flakeRef: `${GUEST_FLAKE}#${flake.host}` };
    const installed = { toplevel: '', espPartuuids: [] as string[] };
    /** Reboot, the checks, the rebuild and the rollbacks (verify.ts) on the installed disks. */
    const verify = (vmDisks: Array<{ id: string; serial: string }>, got: { toplevel: string; espPartuuids: string[]; sshPublicKey: string; sshPrivateKeyFile: string }) =>
      verifyInstalled(
        {
          ...got,
          workDir,
          disks: vmDisks,
          accel: accel.accel,
          logDir,
          layout,
          host: flake.host,
          configDir: flake.dir,
          vmHardware: report.injected.find((f) => f.file.endsWith('/vm-hardware.nix'))?.content ?? '',
          memoryMiB: o.memoryMiB ?? DEFAULT_MEMORY_MIB,
          cpus: o.cpus ?? 2,
        },
        report,
        phase,
        log,
        { rebuild: o.rebuild !== false, onFailure: (mm) => afterFailure(mm, layout.root.kind), verified: o.events?.verified, keepDisks },
      );

    if (o.installed) {
      // No installer, no install: the kept installed system's disks, under overlays.
      const saved = readSavedInstall(o.installed);
      if (saved.layout !== layout.name) throw new Error(`${o.installed} holds a ${saved.layout} install, not ${layout.name}`);
      if (saved.host !== flake.host) throw new Error(`${o.installed} holds an install of host ${saved.host}, not ${flake.host}`);
      report.installedFrom = o.installed;
      report.injected = saved.injected;
      mkdirSync(workDir, { recursive: true });
      for (const d of saved.disks) await createDisk(path.join(workDir, `${d.id}.qcow2`), undefined, d.file);
      copyFileSync(saved.efiVars, path.join(workDir, 'efivars.fd'));
      // ssh refuses a private key others can read: this run's copy, 0600.
      copyFileSync(saved.sshPrivateKeyFile, path.join(keyDir, 'installed_ed25519'));
      chmodSync(path.join(keyDir, 'installed_ed25519'), 0o600);
      const kept = saved.disks.map((d) => ({ id: d.id, serial: d.serial }));
      if (o.fault === 'remove-mirror-disk' && kept.length > 1) {
        kept.splice(1, 1); // it boots without it
        report.fault = { id: o.fault, what: 'boot the kept installed system without its second disk' };
      }
      log(`  starting from the installed system kept in ${o.installed} (${saved.savedAt})`);
      await verify(kept, { toplevel: saved.toplevel, espPartuuids: saved.espPartuuids, sshPublicKey: saved.sshPublicKey, sshPrivateKeyFile: path.join(keyDir, 'installed_ed25519') });
      return finish();
    }

    const booted = await phase('boot-installer', 'Boot the installer ISO', async () => {
      const bootFault = o.fault === 'kernel-panic' || o.fault === 'boot-hang';
      const common = {
        name: 'installer',
        iso: iso.path,
        accel: accel.accel,
        timeoutScale: accel.timeoutScale,
        memoryMiB: o.memoryMiB ?? DEFAULT_MEMORY_MIB,
        cpus: o.cpus ?? 2,
        // No bootindex: the direct kernel boot holds 0.
        disks: disks.map((d) => ({ ...d, size: o.diskSize ?? '20G' })),
        workDir,
        logDir,
        keep: true,
      };
      let inst: Awaited<ReturnType<typeof startInstaller>> | undefined;
      if (o.reuseInstaller && bootFault) log(`  not reusing a saved installer: the fault ${o.fault} is in the boot itself`);
      if (o.reuseInstaller && !bootFault) {
        const state = await installerState({ iso: iso.path, isoSha256: iso.sha256 ?? (await sha256File(iso.path)), memoryMiB: common.memoryMiB, cpus: common.cpus, accel: accel.accel, timeoutScale: accel.timeoutScale, cacheDir: o.cacheDir ?? cacheDir(), logDir, log });
        try {
          inst = await startInstaller({ ...common, restore: state });
          report.iso.restoredFrom = state.dir;
          log(`  restored the installer saved on ${state.createdAt} (${state.dir}); disks plugged in: ${disks.map((d) => d.serial).join(', ')}`);
        } catch (e) {
          if (!(e instanceof RestoreError)) throw e;
          // A saved installer that does not load is never trusted again: boot the ISO.
          log(`  ${e.message}; it is discarded and the ISO booted instead`);
          discardInstallerState(state);
        }
      }
      inst ??= await startInstaller({
        ...common,
        extraAppend: o.fault === 'kernel-panic' ? ['rdinit=/nonexistent'] : [],
        onStarted:
          o.fault === 'boot-hang'
            ? async (mm) => {
                // The EFI stub's first line: the kernel has started (its own messages are quiet at loglevel=4).
                await mm.waitForSerial(/EFI stub: /, 120);
                await mm.pause();
              }
            : undefined,
      });
      machine = inst.machine;
      report.iso.bootEntry = inst.boot.entry.title;
      log(`  booted '${inst.boot.entry.title}' (${inst.boot.append})`);
      return true;
    });
    if (!booted || !machine) return finish();
    const m = machine;

    const installPassed = await phase('install', 'Install (runbook Tasks 1–13)', async () => {
      const run: RunStep = async (step, commands, check, prepare) => {
        const r: StepResult = { id: step.id, task: step.task, title: step.title, status: 'fail', durationMs: 0, command: commands.join('\n'), outputTail: '' };
        report.steps.push(r);
        const t0 = Date.now();
        const outs: string[] = [];
        let text = '';
        try {
          await prepare?.();
          for (const c of commands) {
            const res = await m.run(c, 3600);
            outs.push(res.output);
            text += `$ ${c}\n${res.output}`;
            if (res.exitCode !== 0) {
              r.problems = [`\`${c}\` exited with ${res.exitCode}`];
              break;
            }
          }
          if (!r.problems) r.problems = check?.(outs) ?? [];
        } catch (e) {
          r.problems = [(e as Error).message.split('\n')[0]!];
        }
        r.outputTail = tail(text);
        r.durationMs = Date.now() - t0;
        r.status = r.problems.length ? 'fail' : 'pass';
        if (r.status === 'fail') r.decision = step.decision;
        else delete r.problems;
        log(progressLine(r));
        if (r.status === 'fail') for (const p of r.problems ?? []) log(`      ${p}`);
        write();
        return r.status === 'pass';
      };
      const skipRest = (from: number) => {
        for (const s of STEPS.slice(from)) report.steps.push({ id: s.id, task: s.task, title: s.title, status: 'skipped', durationMs: 0, command: '', outputTail: '' });
      };

      // The configuration under test goes in unchanged.
      const copied = await run(
        { id: 'flake-copy', task: 0, title: `Copy the configuration under test into the installer (${GUEST_CONFIG})`, decision: 'Check that the flake directory is readable.' },
        [`ls -la ${GUEST_CONFIG}`],
        ([ls]) => (/ flake\.nix$/m.test(ls ?? '') ? [] : [`${GUEST_CONFIG}/flake.nix is missing after the copy`]),
        async () => m.copyIn(flake.dir, GUEST_CONFIG, 120, await flakeFiles(flake.dir)),
      );
      if (!copied) {
        skipRest(0);
        return false;
      }
      for (let i = 0; i < STEPS.length; i++) {
        let s = STEPS[i]!;
        if (o.fault === 'esp-not-mounted' && s.id === 'task-12-install') await m.run('sudo umount /mnt/boot', 120);
        if (o.fault === 'kill-qemu' && s.id === 'task-06-root-filesystem' && m.pid) process.kill(m.pid, 'SIGKILL');
        if (o.fault === 'forge-marker' && s.id === 'task-01-uefi') {
          const orig = s;
          // Straight to the control console, around the protocol's base64: what a console-writing
          // activation script or a hostile command could do.
          s = { ...orig, commands: (c) => orig.commands(c).map((cmd, k) => (k ? cmd : `printf '\\n0:forgedxnrforged\\n' >/dev/hvc0; ${cmd}`)) };
        }
        if (s.id === 'task-11-preflight') {
          // After Task 10 the VM's file systems are known: write the harness flake.
          const injected = await injectHarness(m, flake.host, { publicKey, password: rehearsePassword(readFileSync(path.join(keyDir!, 'id_ed25519'), 'utf8')) }, report.injected, run);
          if (!injected) {
            skipRest(i);
            return false;
          }
        }
        const ok = await run(s, s.commands(ctx), s.check ? (outs) => s.check!(outs, ctx) : undefined);
        if (!ok) {
          skipRest(i + 1);
          return false;
        }
      }
      installed.toplevel = (await m.succeed('readlink /mnt/nix/var/nix/profiles/system-1-link')).trim();
      for (const d of ctx.disks) installed.espPartuuids.push((await m.succeed(`sudo blkid -s PARTUUID -o value ${part(d, 1)}`)).trim().toLowerCase());
      return true;
    });

    if (!installPassed) await afterFailure(m, layout.root.kind);
    // A red install's disks are thrown away with the run: a clean power-off (unmount, export,
    // ACPI shutdown, tens of seconds under TCG) is only worth it when they are kept.
    /** QEMU itself gone mid-install is the run's error (the qemu-died diagnosis), not a step's. */
    const unlessGone = async () => {
      if (!(await m.alive())) throw new Error(`QEMU exited during the install (${m.exitStatus}): the VM is gone`);
    };
    if (!installPassed && !keepDisks) {
      await unlessGone();
      log('  the install failed: the VM is stopped without a power-off, its disks are not kept (--keep keeps them, powered off cleanly)');
      return finish();
    }

    const poweredOff = await phase('power-off', 'Unmount, export the pool, power off', async () => {
      await unlessGone();
      // After an early failure there may be nothing mounted and no pool: that is not an error.
      const zfs = layout.root.kind === 'zfs' ? ` && if sudo zpool list ${layout.root.pool} >/dev/null 2>&1; then sudo zpool export ${layout.root.pool}; fi` : '';
      const r = await m.run(`if mountpoint -q /mnt; then sudo umount -R /mnt; fi${zfs}`, 300);
      if (r.exitCode !== 0) log(`  ${r.output.trim()}`);
      if (o.fault === 'remove-mirror-disk' && disks.length > 1) {
        await m.hotUnplug(`nvme-${disks[1]!.id}`);
        disks.splice(1, 1); // the reboot happens without it
      }
      // --no-wall: systemd's wall message would land on every tty, the control console included.
      await m.shutdown(180, 'sudo systemctl poweroff --no-block --no-wall');
      return r.exitCode === 0;
    });
    const installOk = poweredOff && report.steps.every((s) => s.status === 'pass');
    if (installOk && o.saveInstalled && !o.fault) {
      await m.stop();
      saveInstall(o.saveInstalled, workDir, {
        schema: 1, layout: layout.name, flake: o.flake, host: flake.host,
        disks: disks.map((d) => ({ ...d, file: path.join(path.resolve(o.saveInstalled!), `${d.id}.qcow2`) })),
        efiVars: path.join(path.resolve(o.saveInstalled), 'efivars.fd'),
        toplevel: installed.toplevel, espPartuuids: installed.espPartuuids, injected: report.injected,
        sshPublicKey: publicKey, sshPrivateKeyFile: path.join(path.resolve(o.saveInstalled), 'id_ed25519'),
        isoSha256: iso.sha256, savedAt: new Date().toISOString(),
      }, path.join(keyDir, 'id_ed25519'));
      await overlayDisks(workDir, disks.map((d) => path.join(path.resolve(o.saveInstalled!), `${d.id}.qcow2`)));
      log(`  the installed system is kept in ${o.saveInstalled}; this run goes on over overlays`);
    }
    if (installOk && o.verify !== false) {
      await m.stop();
      await verify(disks, { ...installed, sshPublicKey: publicKey, sshPrivateKeyFile: path.join(keyDir, 'id_ed25519') });
    }
    return finish();
  } catch (e) {
    // The first error wins: after a signal, "interrupted" stays the reason (stopping the VM
    // then fails whatever step was running).
    report.error ??= (e as Error).message;
    if (e instanceof PhaseTimeoutError) report.timedOutPhase = e.phase;
    const serialTail = (e as { serialTail?: string }).serialTail;
    if (serialTail && !report.stage) report.stage = stageOf(serialTail);
    log(`error: ${report.error}`);
    return finish();
  } finally {
    unregister();
    await machine?.stop();
    if (keyDir) rmSync(keyDir, { recursive: true, force: true });
    if (!keepDisks) rmSync(workDir, { recursive: true, force: true });
    else log(`disks and EFI variables kept in ${workDir}`);
  }

  function finish(): RehearsalResult {
    const ok = conclude();
    write();
    log(`${ok ? 'PASS' : 'FAIL'}: report ${reportPath}`);
    return { report, reportPath, exitCode: ok ? 0 : 1 };
  }
}

/**
 * Keeps a powered-off install: its disks move to `dir` (the run goes on over overlays, see
 * overlayDisks), with the EFI variables, the key and installed.json.
 */
function saveInstall(dir: string, workDir: string, s: SavedInstall, privateKey: string): void {
  const target = path.resolve(dir);
  rmSync(target, { recursive: true, force: true });
  mkdirSync(target, { recursive: true });
  for (const d of s.disks) moveFile(path.join(workDir, `${d.id}.qcow2`), d.file);
  copyFileSync(path.join(workDir, 'efivars.fd'), s.efiVars);
  copyFileSync(privateKey, s.sshPrivateKeyFile);
  chmodSync(s.sshPrivateKeyFile, 0o600);
  writeFileSync(path.join(target, 'installed.json'), `${JSON.stringify(s, null, 2)}\n`);
}

function moveFile(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
    copyFileSync(from, to);
    rmSync(from);
  }
}

/** New copy-on-write disks in the work dir over kept ones (which are never written again). */
async function overlayDisks(workDir: string, bases: string[]): Promise<void> {
  for (const b of bases) await createDisk(path.join(workDir, path.basename(b)), undefined, b);
}

/** How far a boot got, from the serial console's last lines (kept in the report with them). */
function stageOf(serialTail: string): NonNullable<Report['stage']> {
  return { ...bootStage(serialTail), serialTail };
}

/**
 * The runbook's fast diagnosis playbook in a guest that still answers, each output kept for the
 * report. Bounded: a playbook command that hangs must not hold the report back.
 */
export async function runPlaybook(m: Machine, layoutKind: 'zfs' | 'ext4' | 'btrfs'): Promise<PlaybookOutput[]> {
  const outs: PlaybookOutput[] = [];
  for (const s of playbookFor(layoutKind)) {
    try {
      // The control shell is root on the installer (connect with sudo) and on the installed system.
      const r = await m.run(s.command, 60);
      outs.push({ id: s.id, title: s.title, command: s.command, exitCode: r.exitCode, output: tail(r.output, 60) });
    } catch (e) {
      outs.push({ id: s.id, title: s.title, command: s.command, exitCode: -1, output: `(no answer: ${(e as Error).message.split('\n')[0]})` });
      break; // the guest stopped answering
    }
  }
  return outs;
}

type RunStep = (
  step: Pick<Step, 'id' | 'task' | 'title' | 'decision'>,
  commands: string[],
  check?: (outs: string[]) => string[],
  /** Host-side work timed with the step (copying files in). */
  prepare?: () => Promise<void>,
) => Promise<boolean>;

/** Writes the wrapper flake, harness.nix and vm-hardware.nix into the installer (a step of its own). */
async function injectHarness(m: Machine, host: string, login: { publicKey: string; password: string }, injected: Injected[], run: RunStep): Promise<boolean> {
  const hwText = await m.succeed('cat /mnt/etc/nixos/hardware-configuration.nix');
  const files: Injected[] = [
    { file: `${GUEST_FLAKE}/flake.nix`, content: wrapperFlake(host), settings: [`nixosConfigurations.${host} = <the configuration under test>.extendModules { modules = [ ./harness.nix ./vm-hardware.nix ]; }`] },
    harnessModule({ sshPublicKey: login.publicKey, password: login.password }),
    vmHardwareModule(parseHardwareConfig(hwText)),
  ];
  // The report shows every injected file; the throw-away password is not repeated there.
  injected.push(...files.map((f) => ({ ...f, content: f.content.split(login.password).join('<this run\'s throw-away password>') })));
  return run(
    { id: 'harness-inject', task: 0, title: `Add the rehearsal's harness modules (${GUEST_FLAKE})`, decision: 'The harness flake could not be written into the installer.' },
    [`ls ${GUEST_FLAKE}`],
    ([ls]) => ['flake.nix', 'harness.nix', 'vm-hardware.nix'].filter((f) => !(ls ?? '').includes(f)).map((f) => `${GUEST_FLAKE}/${f} is missing`),
    async () => {
      const dir = ownedTempDir('nixos-rehearse-harness-');
      try {
        for (const f of files) writeFileSync(path.join(dir, path.basename(f.file)), f.content);
        // The files written, not the directory: its owner tag (leftovers.ts) stays on the host.
        await m.copyIn(dir, GUEST_FLAKE, 120, files.map((f) => path.basename(f.file)));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
}

