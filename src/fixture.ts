// The fixture installer (vm/fixture/build-fixture.mjs): an ISO shaped like the NixOS 25.11
// minimal installer, built from Debian packages, which ships beside dist/ and src/.
export interface FixtureManifest {
  key: string;
  iso: string;
  /** A copy of the fixture flake (vm/fixture/flake): nixosConfigurations.server. */
  flake: string;
  volumeId: string;
  nixosLabel: string;
  /** The live installer's networking.hostId (/etc/hostid): INSTALLER_HOST_ID in build-fixture.mjs. */
  hostId: string;
  kernelVersion: string;
  zfsVersion: string;
  packages: Record<string, string>;
  /** The store paths the builder added with the real Nix: kernel, initrd, busybox, nixpkgs (the fixture's). */
  store?: Record<string, string>;
  isoBytes: number;
  buildSeconds: number;
}

export async function buildFixture(opts: { log?: (s: string) => void; out?: string; refresh?: boolean } = {}): Promise<FixtureManifest> {
  // Resolved at run time (not bundled): from src/ or dist/, the builder is at ../vm/fixture/.
  const url = new URL('../vm/fixture/build-fixture.mjs', import.meta.url).href;
  const mod = (await import(url)) as { buildFixture: (o: typeof opts) => Promise<FixtureManifest> };
  return mod.buildFixture({ log: () => {}, ...opts });
}
