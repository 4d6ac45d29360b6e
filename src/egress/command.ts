// The argv QEMU runs for each connection to the VM's proxy (network `public`): this Node and
// the bundled relay, dist/egress-relay.js (scripts/build.mjs). From the bundles (dist/index.js,
// dist/cli.js) it sits beside them; from src/ (the tests) it is the built one in dist/.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function relayScript(): string {
  const candidates = [new URL('./egress-relay.js', import.meta.url), new URL('../../dist/egress-relay.js', import.meta.url)].map((u) => fileURLToPath(u));
  const found = candidates.find((f) => existsSync(f));
  if (!found) throw new Error(`the egress relay is missing (looked for ${candidates.join(', ')}): run npm run build`);
  return found;
}

/** The relay's argv: the run's egress log, and what the user allowed besides public addresses. */
export function egressRelay(log: string, allow: readonly string[]): { command: string[] } {
  // --no-warnings: QEMU gives the relay the guest's connection as its standard error too (libslirp
  // fork_exec), where a Node warning would corrupt the proxy's answer.
  return { command: [process.execPath, '--no-warnings', relayScript(), '--log', log, ...allow.flatMap((a) => ['--allow', a])] };
}
