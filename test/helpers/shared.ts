// What the VM test files share through the global setup: the saved installer (restored by
// `reuseInstaller` runs) and installed systems kept once per test run (`installedBase`).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { inject } from 'vitest';
import { readInstallerState } from '../../src/installer-state.js';
import { runRehearsal } from '../../src/rehearsal.js';

export function shared() {
  return inject('shared');
}

export function savedInstaller() {
  const s = readInstallerState(shared().installerState);
  if (!s) throw new Error(`the global setup's saved installer ${shared().installerState} is gone`);
  return s;
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
  if (r.exitCode !== 0 || !existsSync(path.join(dir, 'installed.json'))) throw new Error(`installing the ${layout} base failed: ${r.report.error ?? JSON.stringify(r.report.steps.filter((s) => s.status === 'fail'))}`);
  return dir;
}
