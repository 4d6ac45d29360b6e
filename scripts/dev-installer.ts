// Development aid: boot the fixture installer and run commands given on the command line
// (each argument one command), printing exit codes and output. Not part of the product.
import { buildFixture } from '../src/fixture.js';
import { startInstaller } from '../src/installer.js';
import { timeoutScale } from '../src/qemu/accel.js';

const fx = await buildFixture();
const { machine: m } = await startInstaller({ name: 'dev', iso: fx.iso, accel: 'tcg', timeoutScale: timeoutScale('tcg'), disks: [{ id: 'disk0', serial: 'REHEARSE0', size: '8G' }, { id: 'disk1', serial: 'REHEARSE1', size: '8G' }], logDir: '/tmp/dbg/logs' });
try {
  await m.copyIn(fx.flake, '/tmp/flake');
  for (const c of process.argv.slice(2)) {
    const r = await m.run(c, 1200);
    console.log(`$ ${c}\n[exit ${r.exitCode}]\n${r.output}`);
  }
} finally {
  await m.stop();
}
