// Teardown on every exit path. Everything the engine starts or creates (QEMU processes, temp
// directories) registers here; a normal stop unregisters it. On SIGINT/SIGTERM the async
// teardowns run (bounded), then the process exits 130/143; on any other exit the synchronous
// fallbacks run (SIGKILL the process, remove the directory).
export interface Resource {
  describe: string;
  /** Graceful teardown. */
  teardown: () => Promise<void>;
  /** Last-resort teardown that must be synchronous (process 'exit' handler). */
  teardownSync: () => void;
}

const live = new Set<Resource>();
let installed = false;

export function register(r: Resource): () => void {
  install();
  live.add(r);
  return () => live.delete(r);
}

export function liveResources(): string[] {
  return [...live].map((r) => r.describe);
}

export async function teardownAll(): Promise<void> {
  const all = [...live];
  live.clear();
  await Promise.allSettled(
    all.map((r) =>
      // Bounded: a teardown that hangs gets the synchronous one after 5 s.
      Promise.race([r.teardown(), new Promise<void>((res) => setTimeout(res, 5000))]).finally(() => r.teardownSync()),
    ),
  );
}

function install() {
  if (installed) return;
  installed = true;
  for (const [sig, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const) {
    // `on`, not `once`: execa's signal-exit handler, which runs after this one, kills the
    // process at once when it sees no other listener for the signal — and `once` removes ours
    // before calling it. That cut the async teardowns short (a run's temp dirs stayed behind).
    let seen = false;
    process.on(sig, () => {
      if (seen) process.exit(code); // a second signal: stop waiting
      seen = true;
      if (live.size) process.stderr.write(`nixos-rehearse: ${sig}: tearing down ${[...live].map((r) => r.describe).join(', ')}\n`);
      void teardownAll().finally(() => process.exit(code));
    });
  }
  process.once('exit', () => {
    for (const r of live) {
      try {
        r.teardownSync();
      } catch {
        // nothing more can be done while exiting
      }
    }
  });
}
