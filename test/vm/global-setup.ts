// Builds (or takes from the cache) the tiny test guest once for the whole VM group.
import type { TestProject } from 'vitest/node';
import { buildTestGuest } from '../../src/guest.js';

export default async function setup(project: TestProject) {
  const guest = await buildTestGuest((s) => console.log(s));
  project.provide('guest', guest);
}

declare module 'vitest' {
  export interface ProvidedContext {
    guest: import('../../src/guest.js').GuestManifest;
  }
}
