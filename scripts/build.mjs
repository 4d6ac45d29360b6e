// Bundles the action (dist/index.js), the CLI (dist/cli.js) and the VM's egress relay (dist/egress-relay.js) with esbuild, as ESM for Node 22+
// (the action runs on node24). dist/ is committed: the action runs it, not src/.
// `node scripts/build.mjs --outdir DIR` builds elsewhere (the staleness test compares).
import { build } from 'esbuild';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const i = process.argv.indexOf('--outdir');
const outdir = i > 0 ? path.resolve(process.argv[i + 1]) : path.resolve('dist');
mkdirSync(outdir, { recursive: true });
const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  legalComments: 'none',
  logLevel: 'warning',
  // CommonJS dependencies call require(); give them one in the ESM bundle.
  banner: { js: "import { createRequire as __nrCreateRequire } from 'node:module'; const require = __nrCreateRequire(import.meta.url);" },
};
await build({ ...common, entryPoints: { index: 'src/action.ts' }, outdir });
// The VM's HTTP proxy for one connection (`--network internet`): QEMU's guestfwd runs it per connection.
await build({ ...common, entryPoints: { 'egress-relay': 'src/egress-relay.ts' }, outdir });
await build({
  ...common,
  entryPoints: { cli: 'src/cli.ts' },
  outdir,
  // The bundled execa and commander need Node 22 (Set.prototype.union, …): say so, not a TypeError.
  banner: { js: `#!/usr/bin/env node\n${common.banner.js}\nif (Number(process.versions.node.split('.')[0]) < 22) { console.error(\`nixos-rehearse needs Node 22.12 or newer (this is \${process.version}).\`); process.exit(1); }` },
});
writeFileSync(path.join(outdir, 'package.json'), '{ "type": "module" }\n');
chmodSync(path.join(outdir, 'cli.js'), 0o755); // the package's bin
