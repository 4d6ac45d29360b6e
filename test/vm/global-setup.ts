// Once for the whole VM group: the system packages (installed when missing), the tiny test guest and the fixture installer ISO (built or taken
// from the cache), this machine's TCG speed, and the fixture installer booted once through its
// own boot menu and saved (installer-state.ts) in a cache of this run's own, so that every test
// that needs a running installer restores it in seconds instead of booting it again.
import { DEFAULT_MEMORY_MIB } from '../../src/qemu/spec.js';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { buildFixture } from '../../src/fixture.js';
import { buildTestGuest } from '../../src/guest.js';
import { installerState } from '../../src/installer-state.js';
import { sha256File } from '../../src/iso/source.js';
import { chooseAccel } from '../../src/qemu/accel.js';
import { qemuBinary } from '../../src/qemu/tools.js';
import { testLogDir } from '../helpers/paths.js';
import { ensureSystemPackages } from '../helpers/system-packages.js';

export default async function setup(project: TestProject) {
  // QEMU, OVMF and the other host tools: installed when missing (root or passwordless sudo),
  // else the run stops here with the exact apt-get command.
  await ensureSystemPackages((s) => console.log(`[setup] ${s}`));
  const guest = await buildTestGuest((s) => console.log(s));
  project.provide('guest', guest);
  let started = Date.now();
  const fixture = await buildFixture({ log: (s) => console.log(`[fixture] ${s}`) });
  console.log(`[fixture] ${fixture.iso} (${(fixture.isoBytes / 2 ** 20).toFixed(0)} MiB) ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  project.provide('fixture', fixture);

  const accel = await chooseAccel(qemuBinary(), 'auto');
  console.log(`[vm] accelerator ${accel.accel}${accel.speed ? `, TCG speed factor ${accel.speed.factor} (probe ${accel.speed.probeMs} ms), waits ×${accel.timeoutScale}` : ''}`);
  process.env.NIXOS_REHEARSE_SPEED_FACTOR = String(accel.speed?.factor ?? 1);
  project.provide('speedFactor', accel.speed?.factor ?? 1);

  // XDG_CACHE_HOME for this run: <xdg>/nixos-rehearse is the cache dir runs and the CLI use.
  const xdg = mkdtempSync(path.join(os.tmpdir(), 'nixos-rehearse-test-cache-'));
  const cacheDir = path.join(xdg, 'nixos-rehearse');
  const runDir = mkdtempSync(path.join(os.tmpdir(), 'nixos-rehearse-test-run-'));
  started = Date.now();
  const state = await installerState({
    iso: fixture.iso,
    isoSha256: await sha256File(fixture.iso),
    memoryMiB: DEFAULT_MEMORY_MIB,
    cpus: 2,
    accel: accel.accel,
    timeoutScale: accel.timeoutScale,
    cacheDir,
    logDir: testLogDir('installer-save'),
    log: (s) => console.log(`[installer]${s}`),
  });
  console.log(`[installer] booted in ${state.bootSeconds.toFixed(1)} s and saved in ${((Date.now() - started) / 1000).toFixed(1)} s: ${state.dir}`);
  project.provide('shared', { xdgCacheHome: xdg, cacheDir, runDir, installerState: state.dir });
  return () => {
    rmSync(xdg, { recursive: true, force: true });
    rmSync(runDir, { recursive: true, force: true });
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    guest: import('../../src/guest.js').GuestManifest;
    fixture: import('../../src/fixture.js').FixtureManifest;
    speedFactor: number;
    /**
     * What the VM group shares: XDG_CACHE_HOME and the cache dir holding the saved installer
     * (runs get `cacheDir`, CLI runs XDG_CACHE_HOME), and a directory for installed bases.
     */
    shared: { xdgCacheHome: string; cacheDir: string; runDir: string; installerState: string };
  }
}
