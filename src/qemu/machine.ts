// A virtual machine, modelled on nixpkgs' test-driver `Machine` (nixos/lib/test-driver):
// start it, wait for text on the serial console, run commands over a control shell
// (succeed/fail/run), wait for units, see reboots, power it down, tear it down.
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ResultPromise, execa } from 'execa';
import { register } from '../cleanup.js';
import { PowerOffTimeoutError, RehearseError } from '../errors.js';
import { connectUnix } from '../unix-socket.js';
import { Console, ConsoleClosedError } from '../console/console.js';
import { Shell, untilShellAnswers } from '../console/shell.js';
import { newNonce } from '../console/protocol.js';
import { parseKeyValue } from '../console/text.js';
import { buildQemuArgv } from './argv.js';
import { createDisk } from './disks.js';
import { type FirmwarePair, findFirmware } from './firmware.js';
import { Qmp, QmpClosedError, type QmpEvent } from './qmp.js';
import type { Accel, DirectKernelBoot, MachineSpec } from './spec.js';
import { qemuBinary, withParentDeathSignal } from './tools.js';

export interface DiskRequest {
  id: string;
  serial: string;
  /** Size of a new disk ("8G"), or of an overlay if larger than its base. */
  size?: string;
  /** Create a qcow2 overlay over this image instead of a blank disk. */
  backing?: string;
  bootIndex?: number;
}

export interface MachineOptions {
  name: string;
  accel: Accel;
  /** Factor applied to every timeout (see accel.ts timeoutScale). */
  timeoutScale?: number;
  memoryMiB?: number;
  cpus?: number;
  firmware?: FirmwarePair;
  disks?: DiskRequest[];
  iso?: { path: string; bootIndex?: number };
  kernelBoot?: DirectKernelBoot;
  /** Forward a host port to guest port 22: a number, or 'auto' for a free one. */
  sshHostPort?: number | 'auto';
  /** What the guest may reach (MachineSpec.network): `nat` (default), `none` or `public` (with `egress`). */
  network?: 'nat' | 'none' | 'public';
  egress?: { command: string[] };
  /** Where disks, the vars copy and sockets go; default: a new temp dir, removed on stop(). */
  workDir?: string;
  /** Where the transcripts and qemu.log go; they survive stop() (default: $TMPDIR/nixos-rehearse-logs/<name>-…). */
  logDir?: string;
  /** Keep the work dir (disks, vars) after stop(). */
  keep?: boolean;
  noReboot?: boolean;
  /** Empty PCIe root ports for hotplugDisk() (a saved state made with N slots needs N again). */
  hotplugSlots?: number;
  /**
   * Start from a state saved by saveState() instead of booting: the file, and the EFI variable
   * store saved with it (copied into this machine's work dir). The machine must be created with
   * the same devices as the one that saved it (same memory, CPUs, ISO, kernel, hotplug slots).
   */
  restore?: { state: string; efiVars: string; serialLog?: string };
  /** TCG only: translation-block cache size in MiB (`npm run bench` measures its effect). */
  tcgTbSizeMiB?: number;
  /** CPU model (bench); default host under KVM, TCG_CPU_MODEL under TCG. */
  cpuModel?: string;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address() as net.AddressInfo;
      srv.close(() => resolve(a.port));
    });
  });
}

/** A saved state that could not be read (a damaged or truncated file): why a restore failed. */
export class StateLoadError extends Error {
  override name = 'StateLoadError';
}

export class Machine {
  readonly name: string;
  readonly workDir: string;
  readonly logDir: string;
  readonly scale: number;
  readonly spec: MachineSpec;
  serial!: Console;
  control!: Console;
  qmp!: Qmp;
  private proc?: ResultPromise;
  private controlShell?: Shell;
  private unregister?: () => void;
  private ownsWorkDir: boolean;
  private keep: boolean;
  private resets = 0;
  private stopped = false;
  /** A saved state start() loads instead of booting (then the guest's control shell is adopted). */
  private readonly restoreFrom?: string;
  /** The saved VM's serial console up to the save: the history tail() and the boot stage read. */
  private readonly restoreSerialLog?: string;
  private hotplugged = 0;
  exit?: { code?: number; signal?: string };
  /** Resolves when QEMU exits, whatever the reason. */
  exited!: Promise<{ code?: number; signal?: string }>;

  private constructor(spec: MachineSpec, opts: MachineOptions, workDir: string, owns: boolean, logDir: string) {
    this.spec = spec;
    this.name = opts.name;
    this.workDir = workDir;
    this.ownsWorkDir = owns;
    this.keep = !!opts.keep;
    this.logDir = logDir;
    this.scale = opts.timeoutScale ?? 1;
    this.restoreFrom = opts.restore?.state;
    this.restoreSerialLog = opts.restore?.serialLog;
  }

  /** Prepares the work dir (disks, a private copy of the EFI vars) and builds the spec. */
  static async create(opts: MachineOptions): Promise<Machine> {
    const owns = !opts.workDir;
    const workDir = opts.workDir ?? mkdtempSync(path.join(os.tmpdir(), `nixos-rehearse-${opts.name}-`));
    mkdirSync(workDir, { recursive: true });
    // QEMU's UNIX sockets live in the work directory unless its path is too long for one.
    const socketDir = socketDirFor(workDir, os.tmpdir()) ?? workDir;
    if (socketDir !== workDir) mkdirSync(socketDir, { recursive: true, mode: 0o700 });
    // Logs live outside the work dir so that they survive stop() and every failure.
    const logDir = opts.logDir ?? path.join(os.tmpdir(), 'nixos-rehearse-logs', `${opts.name}-${Date.now()}-${process.pid}`);
    mkdirSync(logDir, { recursive: true });
    // Until the machine registers its own teardown, a failure here must not leave the dir.
    const undo = () => {
      if (owns && !opts.keep) rmSync(workDir, { recursive: true, force: true });
      if (socketDir !== workDir) rmSync(socketDir, { recursive: true, force: true });
    };
    try {
      const fw = opts.firmware ?? findFirmware();
      const vars = path.join(workDir, 'efivars.fd');
      // One vars file per VM, kept across its reboots and power cycles (EFI boot entries live here).
      // A restored state brings its own: the firmware's variable cache in the saved RAM matches it.
      try {
        copyFileSync(opts.restore?.efiVars ?? fw.vars, vars, opts.restore ? 0 : 1 /* COPYFILE_EXCL: keep an existing one */);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const disks = [];
      for (const d of opts.disks ?? []) {
        const file = path.join(workDir, `${d.id}.qcow2`);
        await createDisk(file, d.size, d.backing).catch((e) => {
          if (!/refusing to overwrite/.test(String(e))) throw e; // reuse the disk of a powered-off VM
        });
        disks.push({ id: d.id, serial: d.serial, path: file, bootIndex: d.bootIndex });
      }
      const sshHostPort = opts.sshHostPort === 'auto' ? await freePort() : opts.sshHostPort;
      const spec: MachineSpec = {
        name: opts.name,
        memoryMiB: opts.memoryMiB ?? 1024,
        cpus: opts.cpus ?? 2,
        accel: opts.accel,
        firmware: { code: fw.code, vars },
        disks,
        iso: opts.iso,
        kernelBoot: opts.kernelBoot,
        sshHostPort,
        network: opts.network,
        egress: opts.egress,
        sockets: socketPaths(socketDir),
        noReboot: opts.noReboot,
        startPaused: true,
        hotplugSlots: opts.hotplugSlots,
        incoming: !!opts.restore,
        tcgTbSizeMiB: opts.tcgTbSizeMiB,
        cpuModel: opts.cpuModel,
      };
      buildQemuArgv(spec); // validate before anything starts
      return new Machine(spec, opts, workDir, owns, logDir);
    } catch (e) {
      undo();
      throw e;
    }
  }

  /** Timeout in ms for something that takes `seconds` under KVM. */
  t(seconds: number): number {
    return Math.round(seconds * 1000 * this.scale);
  }

  get sshPort(): number | undefined {
    return this.spec.sshHostPort;
  }

  /** The QEMU process id while it runs. */
  /** How QEMU ended (`code 0`, `signal SIGKILL`), or `running`. */
  get exitStatus(): string {
    if (!this.exit) return this.proc ? 'running' : 'not started';
    return this.exit.signal ? `signal ${this.exit.signal}` : `code ${this.exit.code}`;
  }

  get pid(): number | undefined {
    return this.isRunning ? this.proc?.pid : undefined;
  }

  get isRunning(): boolean {
    return !!this.proc && !this.exit;
  }

  get resetCount(): number {
    return this.resets;
  }

  /** Starts QEMU paused, attaches QMP and both consoles, then lets the CPU run. */
  async start(): Promise<void> {
    if (this.proc) throw new Error(`${this.name} is already started`);
    this.stopped = false;
    this.exit = undefined;
    this.controlShell = undefined;
    mkdirSync(path.dirname(this.spec.sockets.qmp), { recursive: true, mode: 0o700 }); // removed by the last stop() when short
    for (const s of Object.values(this.spec.sockets)) rmSync(s, { force: true });
    const boot = String(Date.now());
    this.openConsoles(boot);
    const qemuLog = path.join(this.logDir, `qemu-${boot}.log`);
    this.spawn(qemuLog);
    try {
      const died = this.diesAtStart(qemuLog);
      const attach = this.attach();
      attach.catch(() => {}); // raced: when QEMU dies first, its error is the one that counts
      await Promise.race([attach, died]).catch(async (e) => {
        // A socket closing is QEMU exiting, seen a moment before the process's exit is: then
        // QEMU's own message is the error. Any other error (a damaged saved state) stands.
        if (e instanceof RehearseError && e.kind === 'qemu-exited' && this.restoreFrom) {
          // QEMU reading a damaged saved state exits at the same moment zstd says why: the
          // state's own error is the cause, QEMU's "error while loading state section" its effect.
          const cause = await Promise.race([attach.then(() => undefined, (a: Error) => a), sleep(2000, undefined, { ref: false })]);
          throw cause instanceof StateLoadError ? cause : e;
        }
        if (!(e instanceof QmpClosedError || e instanceof ConsoleClosedError)) throw e;
        const exit = await Promise.race([died.then(() => undefined, (d: Error) => d), sleep(2000, undefined, { ref: false })]);
        throw exit ?? e;
      });
    } catch (e) {
      await this.stop();
      throw e;
    }
  }

  /** This boot's serial and control consoles and their transcripts (a restored VM's saved serial log first). */
  private openConsoles(boot: string): void {
    this.serial = new Console({ name: `${this.name} serial`, transcriptPath: path.join(this.logDir, `serial-${boot}`), cast: true });
    this.control = new Console({ name: `${this.name} control`, transcriptPath: path.join(this.logDir, `control-${boot}`) });
    if (!this.restoreFrom || !this.restoreSerialLog) return;
    let saved = '';
    try {
      saved = readFileSync(this.restoreSerialLog, 'utf8');
    } catch {
      // no saved serial log: the console starts empty
    }
    if (saved) this.serial.history(`${saved.trimEnd()}\n[nixos-rehearse: the serial console above is the saved VM's, up to its save; restored from ${this.restoreFrom}]\n`);
  }

  /** QEMU itself, dying with this process (withParentDeathSignal), its exit watched, its teardown registered. */
  private spawn(qemuLog: string): void {
    const [bin, args] = withParentDeathSignal(qemuBinary(), buildQemuArgv(this.spec));
    this.proc = execa(bin, args, { reject: false, cleanup: true, stdin: 'ignore', stdout: 'ignore', stderr: { file: qemuLog } });
    const proc = this.proc;
    Machine.running.add(this);
    this.exited = proc.then((r) => {
      this.exit = { code: r.exitCode, signal: r.signal };
      Machine.running.delete(this);
      return this.exit;
    });
    this.unregister?.();
    this.unregister = register({
      describe: `QEMU ${this.name} (pid ${proc.pid}) in ${this.workDir}`,
      teardown: () => this.stop(),
      teardownSync: () => {
        proc.kill('SIGKILL');
        if (this.ownsWorkDir && !this.keep) rmSync(this.workDir, { recursive: true, force: true });
        this.removeSocketDir();
      },
    });
  }

  /** Rejects with QEMU's own last words when it exits (only raced against the attach). */
  private diesAtStart(qemuLog: string): Promise<never> {
    const died = this.exited.then((x) => {
      let said = '';
      try {
        said = readFileSync(qemuLog, 'utf8').trim().split('\n').slice(-5).join('\n');
      } catch {
        // no log: nothing to quote
      }
      throw new RehearseError('qemu-exited', `QEMU exited during start (${x.code ?? x.signal}): ${said || 'no message'}\n(log: ${qemuLog})`, { machine: this.name, during: 'start', exit: String(x.code ?? x.signal), qemuSaid: said || undefined, log: qemuLog });
    });
    died.catch(() => {});
    return died;
  }

  /** QMP, then (a saved state loaded) both consoles, then the CPU runs; a restored VM's control shell is adopted. */
  private async attach(): Promise<void> {
    this.qmp = new Qmp();
    await this.qmp.connect(this.spec.sockets.qmp, this.t(10));
    this.qmp.on('RESET', () => {
      this.resets++;
      // The guest's control shell is gone with the old boot, and so is the end of the
      // command it was running (a `reboot` returns, but the shell may be killed before it
      // prints the frame's end): that command fails now instead of waiting out its limit.
      this.controlShell = undefined;
      this.control.abortWaits(new Error(`${this.name}: the guest rebooted while a command was running on its control console`));
    });
    if (this.restoreFrom) await this.loadState(this.restoreFrom);
    await this.serial.attach(this.spec.sockets.serial);
    await this.control.attach(this.spec.sockets.control);
    await this.qmp.execute('cont');
    if (this.restoreFrom) {
      // The saved guest already runs its control shell on hvc0 (saveState() requires one):
      // adopt it rather than starting a second one that would compete for the console.
      const shell = new Shell(this.control, { timeoutMs: this.t(300) });
      await shell.succeed('true', { timeoutMs: this.t(60) });
      this.controlShell = shell;
    }
  }

  /**
   * The machines of this process whose QEMU is running: what a phase timeout stops (the work
   * that waits on them then fails at once instead of at its own, longer timeout).
   */
  static readonly running = new Set<Machine>();

  /**
   * Whether the guest can still be talked to. A console that just closed usually means QEMU is
   * exiting: give its exit a moment to land before answering (SIGKILL closes the sockets first).
   */
  async alive(ms = 3000): Promise<boolean> {
    if (!this.isRunning) return false;
    if (this.control?.isClosed || this.serial?.isClosed) await Promise.race([this.exited, sleep(ms, undefined, { ref: false })]);
    return this.isRunning && !this.control?.isClosed;
  }

  /** The last lines the serial console showed (clean text). */
  serialTail(lines = 200): string {
    return this.serial?.tail(lines) ?? '';
  }

  /**
   * Saves the running guest's whole state (RAM, CPUs, devices) to `file`, zstd-compressed, and
   * the EFI variable store beside it (`efiVars`), then powers this VM off: what the test
   * driver's and QEMU's migration-to-file do. The guest must not have disks (a state is
   * restored over new, empty disks plugged in after it: hotplugDisk()): QEMU refuses to save a
   * VM with an NVMe controller ("State blocked by non-migratable device …/nvme": qemu/qemu
   * hw/nvme/ctrl.c, nvme_vmstate `.unmigratable = 1`, in every release up to 10.x), so a running
   * installed system, whose root is on NVMe, cannot be saved at all. It must have a control
   * shell running (connect()), which the restored machine adopts. Restore with
   * `Machine.create({ …same devices, restore: { state, efiVars } })`.
   */
  async saveState(file: string, efiVars: string): Promise<void> {
    if (!this.isRunning) throw new Error(`${this.name}: cannot save the state of a VM that is not running`);
    if (this.spec.disks.length || this.hotplugged) throw new Error(`${this.name}: a saved state must have no disks (plug them in after restoring it)`);
    if (!this.controlShell || this.controlShell.isBroken) throw new Error(`${this.name}: connect() before saving a state: the restored machine adopts its control shell`);
    rmSync(file, { force: true }); // its appearing is the sign the save finished
    await this.shell.succeed('sync');
    await this.qmp.execute('stop');
    // The firmware writes its variables straight to the vars file: with the CPUs stopped the
    // file is consistent with the RAM about to be saved.
    copyFileSync(this.spec.firmware.vars, efiVars);
    const part = `${file}.part-${process.pid}`;
    await this.qmp.execute('migrate-set-parameters', { 'max-bandwidth': 8 * 2 ** 30 });
    // The file appears under its name only once zstd has written all of it.
    await this.qmp.execute('migrate', { uri: `exec:zstd -q -f -1 -T0 -o ${shellQuote(part)} && mv ${shellQuote(part)} ${shellQuote(file)}` });
    const deadline = Date.now() + this.t(300);
    for (;;) {
      const q = await this.qmp.execute<{ status?: string; 'error-desc'?: string }>('query-migrate');
      if (q.status === 'completed') break;
      if (q.status === 'failed' || q.status === 'cancelled') throw new Error(`${this.name}: saving the VM state failed: ${q['error-desc'] ?? q.status}`);
      if (Date.now() > deadline) throw new Error(`${this.name}: saving the VM state did not finish within ${Math.round(this.t(300) / 1000)} s`);
      await sleep(100);
    }
    while (!existsSync(file)) {
      if (Date.now() > deadline) throw new Error(`${this.name}: the saved VM state ${file} was not written within ${Math.round(this.t(300) / 1000)} s`);
      await sleep(100);
    }
    await this.stop();
  }

  /**
   * Loads a saved state into this (paused, `-incoming defer`) QEMU: QEMU listens on a socket of
   * its work dir and the state, decompressed here, is streamed into it. A damaged file is an
   * error at once (zstd says so), never a QEMU left waiting for the rest of a stream.
   */
  private async loadState(file: string): Promise<void> {
    const sock = path.join(this.workDir, 'incoming.sock');
    rmSync(sock, { force: true });
    await this.qmp.execute('migrate-incoming', { uri: `unix:${sock}` });
    const conn = await connectUnix(sock, this.t(10), 'QEMU incoming migration');
    conn.on('error', () => {}); // QEMU refusing the stream ends it: its exit is the error that counts
    // Not buffered by execa: the state is hundreds of MiB; only zstd's own words are kept.
    const z = execa('zstd', ['-q', '-dc', file], { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe', reject: false, buffer: { stdout: false, stderr: true } });
    z.stdout!.pipe(conn);
    const r = await z;
    // SIGPIPE: QEMU read the whole state (up to its end marker) and closed the socket first.
    if (r.exitCode !== 0 && r.signal !== 'SIGPIPE') {
      conn.destroy();
      throw new StateLoadError(`${this.name}: the saved VM state ${file} is damaged: zstd: ${String(r.stderr).trim() || `exit ${r.exitCode ?? r.signal}`}`);
    }
    await new Promise<void>((resolve) => (conn.writableFinished || conn.destroyed ? resolve() : conn.once('finish', () => resolve()).once('close', () => resolve())));
    const deadline = Date.now() + this.t(60);
    for (;;) {
      const st = await this.qmp.execute<{ status: string }>('query-status');
      if (st.status !== 'inmigrate') break;
      if (Date.now() > deadline) throw new Error(`${this.name}: loading the saved VM state ${file} did not finish within ${Math.round(this.t(60) / 1000)} s`);
      await sleep(100);
    }
    conn.destroy();
  }

  /**
   * Plugs a new NVMe disk (a qcow2 image created here, in the work dir) into the next empty
   * root port, as a restored installer gets this run's disks; resolves once the guest sees it
   * (its serial under /dev/disk/by-id).
   */
  async hotplugDisk(d: DiskRequest, seconds = 60): Promise<void> {
    const slot = this.hotplugged;
    if (slot >= (this.spec.hotplugSlots ?? 0)) throw new Error(`${this.name}: no empty hotplug slot left for ${d.id} (${this.spec.hotplugSlots ?? 0} slots)`);
    if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(d.id) || !/^[A-Za-z0-9_-]{1,20}$/.test(d.serial)) throw new Error(`${this.name}: bad disk id or serial ${JSON.stringify(d)}`);
    const file = path.join(this.workDir, `${d.id}.qcow2`);
    await createDisk(file, d.size, d.backing);
    await this.qmp.execute('blockdev-add', { driver: 'qcow2', 'node-name': d.id, discard: 'unmap', file: { driver: 'file', filename: file } });
    await this.qmp.execute('device_add', { driver: 'nvme', id: `nvme-${d.id}`, bus: `rp-hp${slot}`, serial: d.serial, drive: d.id });
    this.hotplugged++;
    this.spec.disks.push({ id: d.id, serial: d.serial, path: file });
    // udev names it after its serial once the nvme driver has probed it.
    await this.succeed(`i=0; until ls /dev/disk/by-id/ 2>/dev/null | grep -q '_${d.serial}$'; do i=$((i+1)); [ $i -lt ${Math.ceil(this.t(seconds) / 200)} ] || { echo "no disk with serial ${d.serial} appeared" >&2; exit 1; }; sleep 0.2; done`, seconds * 2);
  }

  /** Freezes the guest's CPUs (QMP `stop`): to the engine, a guest that hangs. */
  async pause(): Promise<void> {
    await this.qmp.execute('stop');
  }

  /** Waits for a regular expression on the serial console (timeout in KVM seconds, scaled). */
  waitForSerial(re: RegExp, seconds: number): Promise<RegExpExecArray> {
    return this.serial.waitFor(re, this.t(seconds));
  }

  /** A shell on the serial console's login shell (echoing, line-edited): for bootstrapping. */
  serialShell(timeoutSeconds = 60): Shell {
    return new Shell(this.serial, { timeoutMs: this.t(timeoutSeconds) });
  }

  /**
   * Starts the control shell: from the serial login shell, a root `sh` reading commands from the
   * virtio console /dev/hvc0 set raw and non-echoing, as nixpkgs' test-instrumentation.nix
   * backdoor does. Kernel messages and getty output stay on the serial port, so command output
   * on hvc0 is never interleaved with them, and it is much faster than the emulated UART.
   * `sudo`: the login user is not root (the NixOS installer logs in as `nixos`).
   */
  async connect(opts: { sudo?: boolean; timeoutSeconds?: number } = {}): Promise<Shell> {
    if (this.controlShell && !this.controlShell.isBroken) return this.controlShell;
    const nonce = newNonce();
    const ready = `rdy${nonce}`;
    // Double quotes inside: the whole script is single-quoted for `sh -c`.
    // systemd's getty generator starts a getty on a virtualizer console (hvc0) when the kernel
    // has one (the NixOS ISO autologins there too); it would read our commands: stop it first.
    const freeHvc0 = 'if command -v systemctl >/dev/null; then systemctl stop serial-getty@hvc0.service 2>/dev/null; fi';
    const inner = `${freeHvc0}; exec </dev/hvc0 >/dev/hvc0 2>&1; stty raw -echo; printf "%s%s\\n" rdy ${nonce}; PS1= exec sh /dev/hvc0`;
    const starter = `${opts.sudo ? 'sudo -n ' : ''}setsid sh -c '${inner}' </dev/null >/dev/null 2>&1 &`;
    const serial = this.serialShell(opts.timeoutSeconds ?? 60);
    // Typed again every half second of guest time (scaled): a lost line costs little.
    await untilShellAnswers(this.serial, nonce, this.t(opts.timeoutSeconds ?? 60), this.t(0.5));
    const readyP = this.control.waitFor(new RegExp(ready), this.t(opts.timeoutSeconds ?? 60));
    await serial.succeed(starter);
    await readyP;
    const shell = new Shell(this.control, { timeoutMs: this.t(300) });
    await shell.succeed('true');
    this.controlShell = shell;
    return shell;
  }

  /**
   * Copies a host directory into the guest (as a tar stream over the control shell): small
   * payloads such as a flake. The guest directory is created; existing files are overwritten.
   */
  async copyIn(hostDir: string, guestDir: string, seconds = 120, files?: string[]): Promise<void> {
    // `files` (relative to hostDir): only those; else the whole directory without any .git.
    const tar = files
      ? await execa('tar', ['-C', hostDir, '--null', '--no-recursion', '-czf', '-', '-T', '-'], { encoding: 'buffer', input: files.map((f) => `${f}\0`).join('') })
      : await execa('tar', ['-C', hostDir, '--exclude=.git', '-czf', '-', '.'], { encoding: 'buffer', stdin: 'ignore' });
    const b64 = Buffer.from(tar.stdout).toString('base64');
    await this.succeed(`mkdir -p ${shellQuote(guestDir)} && printf %s ${b64} | base64 -d | tar -xzf - -C ${shellQuote(guestDir)}`, seconds);
  }

  /** The short socket directory (socketDirFor), when the work directory was too deep for one. */
  private removeSocketDir(): void {
    const dir = path.dirname(this.spec.sockets.qmp);
    if (dir !== this.workDir) rmSync(dir, { recursive: true, force: true });
  }

  get shell(): Shell {
    if (!this.controlShell || this.controlShell.isBroken) throw new Error(`${this.name}: no control shell; call connect() first (after a reboot too)`);
    return this.controlShell;
  }

  run(cmd: string, seconds = 300) {
    return this.shell.run(cmd, { timeoutMs: this.t(seconds) });
  }

  succeed(cmd: string, seconds = 300) {
    return this.shell.succeed(cmd, { timeoutMs: this.t(seconds) });
  }

  fail(cmd: string, seconds = 300) {
    return this.shell.fail(cmd, { timeoutMs: this.t(seconds) });
  }

  /** Polls `systemctl show UNIT` each second until active; fails fast on `failed` (test-driver's wait_for_unit). */
  async waitForUnit(unit: string, seconds = 300): Promise<void> {
    const deadline = Date.now() + this.t(seconds);
    for (;;) {
      const out = await this.succeed(`systemctl --no-pager show ${shellQuote(unit)} --property=ActiveState,SubState,LoadState`);
      const props = parseKeyValue(out);
      if (props.ActiveState === 'active') return;
      if (props.ActiveState === 'failed') throw new Error(`unit ${unit} reached state failed`);
      if (props.LoadState === 'not-found') throw new Error(`unit ${unit} does not exist`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for unit ${unit} (last ActiveState=${props.ActiveState})`);
      await sleep(1000);
    }
  }

  /** Resolves on the next guest reset (reboot) after `afterCount` resets; QMP RESET event. */
  waitForReset(seconds: number, afterCount = this.resets): Promise<void> {
    if (this.resets > afterCount) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        reject(new PowerOffTimeoutError(this.name, 'reboot', (seconds * this.scale) | 0, this.serial.tail()));
      }, this.t(seconds));
      const onReset = () => {
        cleanup();
        resolve();
      };
      const onExit = () => {
        cleanup();
        reject(new RehearseError('qemu-exited', `${this.name}: QEMU exited while waiting for a reboot`, { machine: this.name, during: 'reboot' }));
      };
      const cleanup = () => {
        clearTimeout(timer);
        this.qmp.off('RESET', onReset);
        this.qmp.off('close', onExit);
      };
      this.qmp.on('RESET', onReset);
      this.qmp.on('close', onExit);
    });
  }

  qmpEvents(): QmpEvent[] {
    return this.qmp?.events ?? [];
  }

  /**
   * Hot-unplugs a device (e.g. `nvme-disk1`) through QMP and waits for QEMU's DEVICE_DELETED:
   * PCIe removal needs the guest's cooperation (pciehp's attention button, about 5 s).
   */
  async hotUnplug(deviceId: string, seconds = 30): Promise<void> {
    const deleted = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.qmp.off('DEVICE_DELETED', on);
        reject(new Error(`${this.name}: ${deviceId} was not released by the guest within ${seconds * this.scale}s`));
      }, this.t(seconds));
      const on = (ev: QmpEvent) => {
        if (ev.data?.device !== deviceId) return;
        clearTimeout(timer);
        this.qmp.off('DEVICE_DELETED', on);
        resolve();
      };
      this.qmp.on('DEVICE_DELETED', on);
    });
    deleted.catch(() => {});
    await this.qmp.execute('device_del', { id: deviceId });
    await deleted;
  }

  /** ACPI power button; waits for QEMU to exit, then forces it. */
  async powerDown(seconds = 60): Promise<void> {
    if (!this.isRunning) return;
    await this.qmp.execute('system_powerdown').catch(() => {});
    await this.waitForShutdown(seconds).catch(async () => {
      // The guest ignored the power button: end QEMU.
      await this.qmp.execute('quit').catch(() => {});
      await this.exited;
      await this.released();
    });
  }

  /**
   * The test driver's `shutdown()`: asks the guest to power off and waits for QEMU to exit.
   * The guest may end before the command's answer gets back over the control console (the
   * console closes mid-frame, seen under TCG in CI): that is the expected end, not an error.
   * Only not powering off within `seconds` is.
   */
  async shutdown(seconds = 120, cmd = 'systemctl poweroff --no-block --no-wall'): Promise<void> {
    if (!this.isRunning) return;
    await this.run(cmd, 60).catch(() => {});
    await this.waitForShutdown(seconds);
  }

  /** Waits for the guest to power itself off (e.g. after `poweroff`). */
  async waitForShutdown(seconds = 120): Promise<{ code?: number; signal?: string }> {
    const t = sleep(this.t(seconds), 'timeout' as const, { ref: false });
    const r = await Promise.race([this.exited, t]);
    if (r === 'timeout') throw new PowerOffTimeoutError(this.name, 'power-off', seconds * this.scale, this.serial.tail());
    await this.released();
    return r;
  }

  /** After QEMU exited: close its sockets and forget the process (start() may run again). */
  private async released() {
    await this.closeConsoles();
    this.proc = undefined;
  }

  private async closeConsoles() {
    this.qmp?.close();
    await Promise.all([this.serial?.close(), this.control?.close()]);
  }

  /** Stops QEMU (quit, then SIGKILL) and removes the work dir unless kept. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.proc && !this.exit) {
      await Promise.race([this.qmp?.execute('quit').catch(() => {}), sleep(2000, undefined, { ref: false })]);
      const r = await Promise.race([this.exited, sleep(3000, 'slow' as const, { ref: false })]);
      if (r === 'slow') {
        this.proc.kill('SIGKILL');
        await this.exited;
      }
    }
    await this.closeConsoles();
    this.proc = undefined;
    if (this.ownsWorkDir && !this.keep) rmSync(this.workDir, { recursive: true, force: true });
    this.removeSocketDir();
    this.unregister?.();
    this.unregister = undefined;
  }
}

export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** sun_path of a UNIX socket holds 108 bytes with its terminating NUL (Linux include/uapi/linux/un.h). */
export const UNIX_PATH_MAX = 108;

/** QEMU's three sockets in `dir`. */
export function socketPaths(dir: string): { serial: string; control: string; qmp: string } {
  return { serial: path.join(dir, 'serial.sock'), control: path.join(dir, 'control.sock'), qmp: path.join(dir, 'qmp.sock') };
}

/**
 * Where QEMU's sockets go when `workDir` is too deep for them (a runner's tool cache, a saved
 * installer's folder): a fresh short directory under `tmp` (or /tmp, if `tmp` is itself too
 * long); undefined when the work directory will do. Pure but for the directory name it picks.
 */
export function socketDirFor(workDir: string, tmp: string): string | undefined {
  const longest = (dir: string) => Math.max(...Object.values(socketPaths(dir)).map((p) => Buffer.byteLength(p)));
  if (longest(workDir) < UNIX_PATH_MAX) return undefined;
  const base = longest(path.join(tmp, 'nr-xxxxxxxx')) < UNIX_PATH_MAX ? tmp : '/tmp';
  return path.join(base, `nr-${randomBytes(4).toString('hex')}`);
}
