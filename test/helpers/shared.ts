// What the VM test files share through the global setup: the saved installer (restored by
// `reuseInstaller` runs) and installed bases kept once per test run in upgrade mode's cache
// (`installedBase`).
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { inject } from 'vitest';
import { readInstallerState } from '../../src/installer-state.js';
import { sha256File } from '../../src/iso/source.js';
import { processAlive } from '../../src/leftovers.js';
import { runRehearsal } from '../../src/rehearsal.js';
import { layoutByName } from '../../src/runbook/layouts.js';
import { baseCacheDir, baseKeyFor } from '../../src/upgrade/base-cache.js';

export function shared() {
  return inject('shared');
}

export function savedInstaller() {
  const s = readInstallerState(shared().installerState);
  if (!s) throw new Error(`the global setup's saved installer ${shared().installerState} is gone`);
  return s;
}

const pendingFile = (layout: string) => path.join(shared().runDir, `installed-${layout}.pending`);

/**
 * Says that this process is making the installed base of `layout` (rehearsal.test.ts), so that a
 * file running beside it waits for it instead of installing its own; undone by the returned call.
 */
export function makingInstalledBase(layout: string): () => void {
  writeFileSync(pendingFile(layout), String(process.pid));
  return () => rmSync(pendingFile(layout), { force: true });
}

/**
 * Upgrade mode's cache entry (upgrade/base-cache.ts) for the fixture flake's `server` on `layout`
 * with 8G disks: where the full rehearsal's fresh base is kept for the files after it, under the
 * key the engine computes itself.
 */
export async function installedBaseDir(layout: string): Promise<string> {
  const fx = inject('fixture');
  const key = await baseKeyFor({ isoSha256: await sha256File(fx.iso), baseDir: fx.flake, host: 'server', layout, disks: layoutByName(layout).disks, diskSize: '8G' });
  return baseCacheDir(shared().cacheDir, key);
}

/**
 * The installed system of `layout` for this test run: kept by the full rehearsal in
 * rehearsal.test.ts (which runs first, see budget.json), or installed now (from the saved
 * installer, no checks) when a file runs on its own.
 */
export async function installedBase(layout: string): Promise<string> {
  const dir = await installedBaseDir(layout);
  // rehearsal.test.ts, running beside this file, is making it: wait while its maker lives.
  const pending = pendingFile(layout);
  while (!existsSync(path.join(dir, 'installed.json')) && existsSync(pending) && processAlive(Number(readFileSync(pending, 'utf8')))) {
    await new Promise((r) => setTimeout(r, 5000));
  }
  if (existsSync(path.join(dir, 'installed.json'))) return dir;
  const fx = inject('fixture');
  const r = await runRehearsal({
    iso: fx.iso,
    flake: `${fx.flake}#server`,
    layout,
    diskSize: '8G',
    outDir: path.join(shared().runDir, `install-${layout}-out`),
    cacheDir: shared().cacheDir,
    reuseInstaller: true,
    saveInstalled: dir,
    verify: false,
  });
  if (r.exitCode !== 0 || !existsSync(path.join(dir, 'installed.json'))) throw new Error(`installing the ${layout} base failed: ${r.report.error?.message ?? JSON.stringify(r.report.steps.filter((s) => s.status === 'fail'))}`);
  return dir;
}
