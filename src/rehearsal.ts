// The install rehearsal: boot the installer ISO, run the runbook's Tasks 1–13 (runbook/plan.ts)
// on disks the engine created, power off, and write report.json. Every exit path writes the
// report and keeps the logs; nothing outside the run's own disk images is ever written.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveFlake } from './flake.js';
import { renderReport } from './render.js';
import { startInstaller } from './installer.js';
import { resolveIso } from './iso/source.js';
import { chooseAccel, timeoutScale } from './qemu/accel.js';
import type { Machine } from './qemu/machine.js';
import { qemuBinary } from './qemu/tools.js';
import { type Injected, type PhaseResult, type Report, type StepResult, progressLine, tail } from './report.js';
import { GUEST_CONFIG, GUEST_FLAKE, harnessModule, vmHardwareModule, wrapperFlake } from './runbook/harness.js';
import { layoutByName } from './runbook/layouts.js';
import { parseHardwareConfig } from './runbook/parsers.js';
import { type PlanContext, STEPS, type Step, part } from './runbook/plan.js';
import { verifyInstalled } from './verify.js';

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
  log?: (line: string) => void;
}

export interface RehearsalResult {
  report: Report;
  reportPath: string;
  exitCode: number;
}

function cacheDir(): string {
  return path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'nixos-rehearse');
}

export async function runRehearsal(o: RehearsalOptions): Promise<RehearsalResult> {
  const log = o.log ?? (() => {});
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
  const write = () => {
    report.durationMs = Date.now() - started;
    writeFileSync(reportPath, `${JSON.stringify(report, null, 2)}\n`);
    try {
      writeFileSync(path.join(outDir, 'report.md'), renderReport(report));
    } catch (e) {
      // report.json is the record; a rendering problem must not cost it.
      writeFileSync(path.join(outDir, 'report.md'), `report.md could not be rendered: ${(e as Error).message}\n`);
    }
  };
  let machine: Machine | undefined;
  let keyDir: string | undefined;
  // The disks outlive the installer VM: the installed system boots from them afterwards.
  const workDir = o.workDir ?? mkdtempSync(path.join(os.tmpdir(), 'nixos-rehearse-run-'));
  const phase = async (id: string, title: string, fn: () => Promise<boolean>) => {
    const p: PhaseResult = { id, title, status: 'fail', durationMs: 0 };
    report.phases.push(p);
    const t0 = Date.now();
    log(`${title}`);
    try {
      p.status = (await fn()) ? 'pass' : 'fail';
    } finally {
      p.durationMs = Date.now() - t0;
      write();
    }
    return p.status === 'pass';
  };
  try {
    // Inputs first: nothing boots and nothing is created on a bad one.
    const layout = layoutByName(o.layout);
    const flake = resolveFlake(o.flake);
    const iso = await resolveIso(o.iso, o.sha256, o.cacheDir ?? cacheDir(), log);
    report.iso = { path: iso.path, sha256: iso.sha256 };
    const accel = await chooseAccel(qemuBinary(), o.accel ?? 'auto');
    report.accel = accel.accel;
    log(`accelerator: ${accel.accel} (${accel.reason})`);

    // This run's SSH key: the public half goes into the harness module, the private half stays
    // in a temporary directory on the host.
    keyDir = mkdtempSync(path.join(os.tmpdir(), 'nixos-rehearse-key-'));
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'nixos-rehearse', '-f', path.join(keyDir, 'id_ed25519')]);
    const publicKey = readFileSync(path.join(keyDir, 'id_ed25519.pub'), 'utf8').trim();

    const runId = randomBytes(3).toString('hex').toUpperCase();
    const serials = Array.from({ length: layout.disks }, (_, i) => `NR${runId}D${i}`);
    // What QEMU is given: the same disks for the installer and the installed system.
    const disks = serials.map((serial, i) => ({ id: `disk${i}`, serial: o.diskSerials?.[i] ?? serial }));
    const ctx: PlanContext = { layout, serials, disks: [], flakeRef: `${GUEST_FLAKE}#${flake.host}` };
    const installed = { toplevel: '', espPartuuids: [] as string[] };

    const booted = await phase('boot-installer', 'Boot the installer ISO', async () => {
      const inst = await startInstaller({
        name: 'installer',
        iso: iso.path,
        accel: accel.accel,
        timeoutScale: timeoutScale(accel.accel),
        memoryMiB: o.memoryMiB ?? 2048,
        cpus: o.cpus ?? 2,
        // No bootindex: the direct kernel boot holds 0.
        disks: disks.map((d) => ({ ...d, size: o.diskSize ?? '20G' })),
        workDir,
        logDir,
        keep: true,
      });
      machine = inst.machine;
      report.iso.bootEntry = inst.boot.entry.title;
      log(`  booted '${inst.boot.entry.title}' (${inst.boot.append})`);
      return true;
    });
    if (!booted || !machine) return finish();
    const m = machine;

    await phase('install', 'Install (runbook Tasks 1–13)', async () => {
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
        () => m.copyIn(flake.dir, GUEST_CONFIG),
      );
      if (!copied) {
        skipRest(0);
        return false;
      }
      for (let i = 0; i < STEPS.length; i++) {
        const s = STEPS[i]!;
        if (s.id === 'task-11-preflight') {
          // After Task 10 the VM's file systems are known: write the harness flake.
          const injected = await injectHarness(m, ctx, flake.host, publicKey, report.injected, run);
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

    const poweredOff = await phase('power-off', 'Unmount, export the pool, power off', async () => {
      const zfs = layout.root.kind === 'zfs' ? ` && sudo zpool export ${layout.root.pool}` : '';
      const r = await m.run(`sudo umount -R /mnt${zfs}`, 300);
      if (r.exitCode !== 0) log(`  ${r.output.trim()}`);
      // --no-wall: systemd's wall message would land on every tty, the control console included.
      await m.shutdown(180, 'sudo systemctl poweroff --no-block --no-wall');
      return r.exitCode === 0;
    });
    const installOk = poweredOff && report.steps.every((s) => s.status === 'pass');
    if (installOk && o.verify !== false) {
      await m.stop();
      await verifyInstalled(
        {
          workDir,
          disks,
          accel: accel.accel,
          logDir,
          layout,
          host: flake.host,
          toplevel: installed.toplevel,
          espPartuuids: installed.espPartuuids,
          configDir: flake.dir,
          sshPublicKey: publicKey,
          sshPrivateKeyFile: path.join(keyDir, 'id_ed25519'),
          vmHardware: report.injected.find((f) => f.file.endsWith('/vm-hardware.nix'))?.content ?? '',
          memoryMiB: o.memoryMiB ?? 2048,
          cpus: o.cpus ?? 2,
        },
        report,
        phase,
        log,
        { rebuild: o.rebuild !== false },
      );
    }
    return finish();
  } catch (e) {
    report.error = (e as Error).message;
    log(`error: ${report.error}`);
    return finish();
  } finally {
    await machine?.stop();
    if (keyDir) rmSync(keyDir, { recursive: true, force: true });
    if (!o.keep && !o.workDir) rmSync(workDir, { recursive: true, force: true });
    else log(`disks and EFI variables kept in ${workDir}`);
  }

  function finish(): RehearsalResult {
    const ok =
      !report.error &&
      report.phases.length > 0 &&
      report.phases.every((p) => p.status === 'pass') &&
      report.steps.every((s) => s.status === 'pass') &&
      report.checks.every((c) => c.status === 'pass');
    report.result = ok ? 'pass' : 'fail';
    write();
    log(`${ok ? 'PASS' : 'FAIL'}: report ${reportPath}`);
    return { report, reportPath, exitCode: ok ? 0 : 1 };
  }
}

type RunStep = (
  step: Pick<Step, 'id' | 'task' | 'title' | 'decision'>,
  commands: string[],
  check?: (outs: string[]) => string[],
  /** Host-side work timed with the step (copying files in). */
  prepare?: () => Promise<void>,
) => Promise<boolean>;

/** Writes the wrapper flake, harness.nix and vm-hardware.nix into the installer (a step of its own). */
async function injectHarness(m: Machine, ctx: PlanContext, host: string, publicKey: string, injected: Injected[], run: RunStep): Promise<boolean> {
  const hwText = await m.succeed('cat /mnt/etc/nixos/hardware-configuration.nix');
  const files: Injected[] = [
    { file: `${GUEST_FLAKE}/flake.nix`, content: wrapperFlake(host), settings: [`nixosConfigurations.${host} = <the configuration under test>.extendModules { modules = [ ./harness.nix ./vm-hardware.nix ]; }`] },
    harnessModule({ sshPublicKey: publicKey, zfs: ctx.layout.root.kind === 'zfs' }),
    vmHardwareModule(parseHardwareConfig(hwText)),
  ];
  injected.push(...files);
  return run(
    { id: 'harness-inject', task: 0, title: `Add the rehearsal's harness modules (${GUEST_FLAKE})`, decision: 'The harness flake could not be written into the installer.' },
    [`ls ${GUEST_FLAKE}`],
    ([ls]) => ['flake.nix', 'harness.nix', 'vm-hardware.nix'].filter((f) => !(ls ?? '').includes(f)).map((f) => `${GUEST_FLAKE}/${f} is missing`),
    async () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'nixos-rehearse-harness-'));
      try {
        for (const f of files) writeFileSync(path.join(dir, path.basename(f.file)), f.content);
        await m.copyIn(dir, GUEST_FLAKE);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
}

