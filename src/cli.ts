// The nixos-rehearse command line. Orchestration only: the work is in the modules it calls.
import { Command, Option } from 'commander';
import { doctor, renderDoctor } from './doctor.js';
import { runEngineDemo } from './demo.js';
import { buildFixture } from './fixture.js';

const program = new Command();
program
  .name('nixos-rehearse')
  .description('Rehearse a NixOS install, reboot, upgrade and rollback in a throw-away UEFI VM.')
  .version('0.1.0');

program
  .command('doctor')
  .description('check QEMU, qemu-img, OVMF and the accelerator; exits non-zero with a fix when something is missing')
  .option('--json', 'print the report as JSON')
  .addOption(new Option('--accel <accel>', 'accelerator to check').choices(['auto', 'kvm', 'tcg']).default('auto'))
  .action(async (opts: { json?: boolean; accel: 'auto' | 'kvm' | 'tcg' }) => {
    const r = await doctor(opts.accel);
    process.stdout.write(opts.json ? `${JSON.stringify(r, null, 2)}\n` : `${renderDoctor(r)}\n`);
    process.exitCode = r.ok ? 0 : 1;
  });

program
  .command('demo')
  .description('boot the engine demo guest (a Debian kernel + busybox, from Debian packages) through OVMF with two NVMe disks, run commands on it, reboot it, tear it down')
  .addOption(new Option('--accel <accel>', 'accelerator').choices(['auto', 'kvm', 'tcg']).default('auto'))
  .option('--keep', 'keep the work directory (disks, EFI vars) after the run')
  .option('--log-dir <dir>', 'where the serial/control transcripts and qemu.log go', 'nixos-rehearse-out/logs')
  .action(async (opts: { accel: 'auto' | 'kvm' | 'tcg'; keep?: boolean; logDir: string }) => {
    process.exitCode = await runEngineDemo(opts);
  });

const fixture = program.command('fixture').description('the fixture installer: a NixOS-shaped installer ISO built from Debian packages, for testing without the real ISO');
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

await program.parseAsync(process.argv).catch((e: Error) => {
  process.stderr.write(`nixos-rehearse: ${e.message}\n`);
  process.exitCode = 1;
});
