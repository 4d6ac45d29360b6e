// Builds (or takes from the cache) the tiny test guest and the fixture installer ISO once for
// the whole VM group.
import type { TestProject } from 'vitest/node';
import { buildFixture } from '../../src/fixture.js';
import { buildTestGuest } from '../../src/guest.js';

export default async function setup(project: TestProject) {
  const guest = await buildTestGuest((s) => console.log(s));
  project.provide('guest', guest);
  const started = Date.now();
  const fixture = await buildFixture({ log: (s) => console.log(`[fixture] ${s}`) });
  console.log(`[fixture] ${fixture.iso} (${(fixture.isoBytes / 2 ** 20).toFixed(0)} MiB) ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  project.provide('fixture', fixture);
}

declare module 'vitest' {
  export interface ProvidedContext {
    guest: import('../../src/guest.js').GuestManifest;
    fixture: import('../../src/fixture.js').FixtureManifest;
  }
}
