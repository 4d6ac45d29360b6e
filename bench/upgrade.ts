// npm run bench, part 4 (BENCH_UPGRADE=1; about 20 minutes under TCG): issue #16's figure, in one
// run on this machine. (a) A fresh install run: the fixture's flake installed from the ISO, then
// rebooted, checked, rebuilt and rolled back — the whole rehearsal a pull request paid before
// upgrade mode; its install is kept as upgrade mode's cached base (the engine's own key). (b) A
// warm upgrade run: from that cached base to the fixture's flake changed as a pull request would
// (demo-upgrade.ts), with no installer and no install. Printed: both wall times, the ratio, and
// the upgrade run's phases.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pullRequestFlake } from '../src/demo-upgrade.js';
import { buildFixture } from '../src/fixture.js';
import { sha256File } from '../src/iso/source.js';
import { runRehearsal } from '../src/rehearsal.js';
import { layoutByName } from '../src/runbook/layouts.js';
import { baseCacheDir, baseKeyFor } from '../src/upgrade/base-cache.js';

export async function upgradeBench(layout = 'zfs'): Promise<void> {
  const fx = await buildFixture();
  const work = mkdtempSync(path.join(os.tmpdir(), 'nixos-rehearse-bench-upgrade-'));
  const target = pullRequestFlake(fx.flake);
  try {
    const cacheDir = path.join(work, 'cache');
    const common = { iso: fx.iso, layout, diskSize: '8G', cacheDir, network: 'none' } as const;
    const key = await baseKeyFor({ isoSha256: await sha256File(fx.iso), baseDir: fx.flake, host: 'server', layout, disks: layoutByName(layout).disks, diskSize: '8G' });
    let t0 = Date.now();
    const fresh = await runRehearsal({ ...common, flake: `${fx.flake}#server`, outDir: path.join(work, 'fresh'), saveInstalled: baseCacheDir(cacheDir, key) });
    const freshS = (Date.now() - t0) / 1000;
    if (fresh.exitCode !== 0) throw new Error(`the fresh run failed: ${fresh.reportPath}`);
    t0 = Date.now();
    const warm = await runRehearsal({ ...common, flake: `${target}#server`, upgradeFrom: `${fx.flake}#server`, outDir: path.join(work, 'warm') });
    const warmS = (Date.now() - t0) / 1000;
    if (warm.exitCode !== 0) throw new Error(`the warm upgrade run failed: ${warm.reportPath}`);
    if (!warm.report.base?.cachedFrom) throw new Error('the warm upgrade run did not start from the cached base');
    console.log(`upgrade mode (${layout}, ${fresh.report.accel}, TCG speed factor ${fresh.report.speed?.factor ?? '-'}):`);
    console.log(`  fresh install run:  ${freshS.toFixed(0)} s  (${fresh.report.phases.map((p) => `${p.id} ${(p.durationMs / 1000).toFixed(0)}`).join(', ')})`);
    console.log(`  warm upgrade run:   ${warmS.toFixed(0)} s  (${warm.report.phases.map((p) => `${p.id} ${(p.durationMs / 1000).toFixed(0)}`).join(', ')})`);
    console.log(`  ratio (warm / fresh): ${((100 * warmS) / freshS).toFixed(0)} %`);
  } finally {
    rmSync(target, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  }
}
