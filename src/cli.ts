// The nixos-rehearse command line. Orchestration only: the work is in the modules it calls.
// Progress and errors go to stderr; stdout holds only what a command prints as its result
// (`--json`, `doctor`). Exit codes: src/cli/exit-codes.ts.
import { rmSync } from 'node:fs';
import { pullRequestFlake } from './demo-upgrade.js';
import { Command, CommanderError, Option } from 'commander';
import { doctor, renderDoctor } from './doctor.js';
import { runEngineDemo } from './demo.js';
import { buildFixture } from './fixture.js';
import { FAULTS } from './rehearsal.js';
import { DEFAULT_PHASE_TIMEOUT_MINUTES, LIMITS } from './limits.js';
import { DEFAULT_MEMORY_MIB } from './qemu/spec.js';
import { LAYOUTS } from './runbook/layouts.js';
import { DEFAULT_ISO } from './iso/default.js';
import { EXIT, exitCodeFor } from './cli/exit-codes.js';
import { HELP_AFTER } from './cli/help.js';
import { hostNotReady } from './host-ready.js';
import { type RunFlags, rehearse } from './cli/run.js';

const program = new Command();
program
  .name('nixos-rehearse')
  .description('Rehearse a NixOS install, reboot, upgrade and rollback in a throw-away UEFI VM.')
  .version('0.1.0')
  // Usage errors are thrown (exit 2, below), their message on stderr; set before the commands, which inherit it.
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) })
  .showHelpAfterError('(nixos-rehearse --help shows the usage)')
  .addHelpText('after', HELP_AFTER);

program
  .command('doctor')
  .description('check QEMU, qemu-img, OVMF and the accelerator; exits 3 with a fix when something is missing')
  .option('--json', 'print the report as JSON')
  .addOption(new Option('--accel <accel>', 'accelerator to check').choices(['auto', 'kvm', 'tcg']).default('auto'))
  .action(async (opts: { json?: boolean; accel: 'auto' | 'kvm' | 'tcg' }) => {
    const r = await doctor(opts.accel);
    process.stdout.write(opts.json ? `${JSON.stringify(r, null, 2)}\n` : `${renderDoctor(r)}\n`);
    process.exitCode = r.ok ? EXIT.pass : EXIT.hostNotReady;
  });

const accelOption = () => new Option('--accel <accel>', 'accelerator').choices(['auto', 'kvm', 'tcg']).default('auto');
const layoutOption = () => new Option('--layout <layout>', 'disk layout').choices(LAYOUTS).default('zfs');
const jsonOption = () => new Option('--json', 'print report.json on stdout when the run ends (progress stays on stderr)');
const phaseTimeoutOption = () =>
  new Option('--phase-timeout <minutes>', `fail a phase (boot, install, reboot, verify, …) that takes longer than this many minutes, and stop its VM (default ${DEFAULT_PHASE_TIMEOUT_MINUTES}, at most ${LIMITS.phaseTimeoutMinutes.max})`);
const reuseOptions = (c: Command) =>
  c
    .option('--reuse-installer', 'restore the installer booted once and saved in the cache (~/.cache/nixos-rehearse/installer-states) instead of booting the ISO each run; made on first use')
    .option('--keep-installed <dir>', 'keep the installed system (its disks as the install left them, EFI variables, this run\'s key) in DIR for --from-installed; the run goes on over overlays')
    .option('--from-installed <dir>', 'skip the installer and the install: boot the installed system kept by --keep-installed (overlays, never changed), run the checks, then rebuild to --flake (which may differ from the kept configuration: the rebuild then rehearses that change) and roll back');
const faultOption = () =>
  new Option('--inject-fault <fault>', `inject a fault on purpose to see a red run and its diagnosis: ${Object.entries(FAULTS).map(([k, v]) => `${k} (${v})`).join('; ')}`).choices(Object.keys(FAULTS));

const run = program
  .command('run')
  .description("rehearse a NixOS install from an installer ISO: the runbook's Tasks 1–13 on throw-away NVMe disks, a reboot from disk, the checks of Tasks 13–18, a rebuild and both rollbacks; writes DIR/report.json")
  .option('--iso <path|url>', 'the NixOS installer ISO (a path, or an https:// URL with --sha256 or a .sha256 file next to it)', DEFAULT_ISO)
  .option('--sha256 <hex>', "the ISO's sha256; a mismatch stops the run before anything boots")
  .requiredOption('--flake <dir#host>', 'the configuration to install: a local flake directory and its nixosConfigurations host')
  .option('--upgrade-from <dir#host>', 'upgrade mode: install this base configuration (e.g. a checkout of your main branch) first, then upgrade to --flake the safe way (build, switch, verify), reboot into it, check it, and roll back to the base in place and at boot; the report shows what changed')
  .addOption(layoutOption())
  .option('--disk-size <size>', 'size of each virtual NVMe disk', '20G')
  .option('--memory <MiB>', 'guest memory in MiB (both VMs)', String(DEFAULT_MEMORY_MIB))
  .option('--cpus <n>', 'guest CPUs', '2')
  .addOption(accelOption())
  .addOption(new Option('--network <what>', "what the VMs may reach: internet (the public internet only, through the run's HTTP proxy: a real install needs the binary cache; never this host's loopback, its private networks or link-local addresses) or none (nothing: for configurations that build offline)").choices(['internet', 'none']).default('internet'))
  .option('--network-allow <address...>', 'with --network internet, also let the VMs reach these addresses or ADDRESS/PREFIX blocks (a private binary cache on your network)')
  .option('--out <dir>', 'where report.json and the serial logs go', 'nixos-rehearse-out')
  .option('--keep', 'keep the VM work directory (disks, EFI vars) after the run')
  .option('--no-rebuild', 'after the reboot and the checks, skip the rebuild and the rollbacks')
  .addOption(jsonOption())
  .addOption(phaseTimeoutOption())
  .addOption(faultOption());
reuseOptions(run).action(async (o: RunFlags) => {
  process.exitCode = await rehearse(o);
});

const demo = program
  .command('demo')
  .description('build (or reuse) the fixture installer ISO and its flake, then run exactly the `run` path on them')
  .addOption(layoutOption())
  .addOption(accelOption())
  .option('--out <dir>', 'where report.json and the serial logs go', 'nixos-rehearse-out')
  .option('--keep', 'keep the VM work directory after the run')
  .option('--no-rebuild', 'skip the rebuild and the rollbacks')
  .option('--upgrade', "upgrade mode: install the fixture's flake as the base, then upgrade to a copy of it changed the way a pull request would (demo-upgrade.ts)")
  .addOption(jsonOption())
  .addOption(phaseTimeoutOption())
  .addOption(faultOption());
type DemoFlags = Pick<RunFlags, 'layout' | 'accel' | 'out' | 'keep' | 'rebuild' | 'phaseTimeout' | 'injectFault' | 'reuseInstaller' | 'keepInstalled' | 'fromInstalled' | 'json'> & { upgrade?: boolean };
reuseOptions(demo).action(async (o: DemoFlags) => {
  // Before the fixture build (minutes): a host without QEMU could not run it anyway.
  const notReady = hostNotReady();
  if (notReady) throw notReady;
  const fx = await buildFixture({ log: (s) => process.stderr.write(`[fixture] ${s}\n`) });
  process.stderr.write(`fixture ISO: ${fx.iso}\n`);
  const { upgrade, ...flags } = o;
  const target = upgrade ? pullRequestFlake(fx.flake) : undefined;
  try {
    // The fixture builds offline: its VMs reach nothing, neither this host nor the outside.
    process.exitCode = await rehearse({ ...flags, iso: fx.iso, flake: `${target ?? fx.flake}#server`, upgradeFrom: target ? `${fx.flake}#server` : undefined, diskSize: '8G', memory: String(DEFAULT_MEMORY_MIB), cpus: '2', network: 'none' });
  } finally {
    if (target) rmSync(target, { recursive: true, force: true });
  }
});

// Developer commands: not in --help (README, "Developer commands").
program
  .command('engine-demo', { hidden: true })
  .description('boot the engine demo guest (a Debian kernel + busybox, from Debian packages) through OVMF with two NVMe disks, run commands on it, reboot it, tear it down')
  .addOption(accelOption())
  .option('--keep', 'keep the work directory (disks, EFI vars) after the run')
  .option('--log-dir <dir>', 'where the serial/control transcripts and qemu.log go', 'nixos-rehearse-out/logs')
  .action(async (opts: { accel: 'auto' | 'kvm' | 'tcg'; keep?: boolean; logDir: string }) => {
    process.exitCode = await runEngineDemo(opts);
  });

const fixture = program.command('fixture', { hidden: true }).description('the fixture installer: a NixOS-shaped installer ISO built from Debian packages, for testing without the real ISO');
fixture
  .command('build')
  .description('build the fixture ISO (or reuse it from the cache, keyed by its inputs) and print its manifest')
  .option('--out <dir>', 'write the ISO, its manifest and the fixture flake here instead of the cache')
  .option('--refresh', 'rebuild even when the cache holds a build of the same inputs')
  .action(async (opts: { out?: string; refresh?: boolean }) => {
    const started = Date.now();
    const m = await buildFixture({ out: opts.out, refresh: opts.refresh, log: (s) => process.stderr.write(`[fixture] ${s}\n`) });
    process.stderr.write(`[fixture] ${m.iso} (${(m.isoBytes / 2 ** 20).toFixed(0)} MiB) ready in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    process.stdout.write(`${JSON.stringify(m, null, 2)}\n`);
  });

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    // Commander printed its message (or the help, or the version) already.
    process.exitCode = e.exitCode === 0 ? EXIT.pass : EXIT.usage;
  } else {
    process.stderr.write(`nixos-rehearse: ${(e as Error)?.message ?? String(e)}\n`);
    process.exitCode = exitCodeFor(e);
  }
}
