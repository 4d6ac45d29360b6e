// What the VM test files share through the global setup: the saved installer (restored by
// `reuseInstaller` runs) and installed systems kept once per test run (`installedBase`).
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { inject } from 'vitest';
import { readInstallerState } from '../../src/installer-state.js';
import { processAlive } from '../../src/leftovers.js';
import { runRehearsal } from '../../src/rehearsal.js';

export function shared() {
  return inject('shared');
}

export function savedInstaller() {
  const s = readInstallerState(shared().installerState);
  if (!s) throw new Error(`the global setup's saved installer ${shared().installerState} is gone`);
  return s;
}

/**
 * Says that this process is making the installed base of `layout` (rehearsal.test.ts), so that a
 * file running beside it waits for it instead of installing its own; undone by the returned call.
 */
export function makingInstalledBase(layout: string): () => void {
  const pending = `${installedBaseDir(layout)}.pending`;
  writeFileSync(pending, String(process.pid));
  return () => rmSync(pending, { force: true });
}

/** Where a full rehearsal keeps the installed system of `layout` for the files after it. */
export function installedBaseDir(layout: string): string {
  return path.join(shared().runDir, `installed-${layout}`);
}

/**
 * The installed system of `layout` for this test run: kept by the full rehearsal in
 * rehearsal.test.ts (which runs first, see budget.json), or installed now (from the saved
 * installer, no checks) when a file runs on its own.
 */
export async function installedBase(layout: string): Promise<string> {
  const dir = installedBaseDir(layout);
  // rehearsal.test.ts, running beside this file, is making it: wait while its maker lives.
  const pending = `${dir}.pending`;
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
