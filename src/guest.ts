// Locates and builds the engine's demo/test guest (vm/build-test-guest.mjs), which ships beside
// dist/ and src/ in the package.
export interface GuestManifest {
  key: string;
  kernel: string;
  initrd: string;
  kernelVersion: string;
  cmdline: string;
  packages: Record<string, string>;
}

export async function buildTestGuest(log: (s: string) => void = () => {}): Promise<GuestManifest> {
  // Resolved at run time (not bundled): from src/ or dist/, the builder is at ../vm/.
  const url = new URL('../vm/build-test-guest.mjs', import.meta.url).href;
  const mod = (await import(url)) as { buildTestGuest: (o: { log: (s: string) => void }) => Promise<GuestManifest> };
  return mod.buildTestGuest({ log });
}
