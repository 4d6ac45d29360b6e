// `demo --upgrade`: the fixture's flake changed the way a pull request would change a real one —
// a file under /etc rewritten, a new one added — so that the upgrade has something to show.
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { RehearseError } from './errors.js';
import { ownedTempDir } from './leftovers.js';

export function pullRequestFlake(base: string): string {
  const dir = ownedTempDir('nixos-rehearse-demo-pr-');
  cpSync(base, dir, { recursive: true });
  const cfg = path.join(dir, 'configuration.nix');
  const before = readFileSync(cfg, 'utf8');
  const after = before.replace('environment.etc."rehearse/release".text = "generation-one";', 'environment.etc."rehearse/release".text = "pull-request-42";\n  environment.etc."rehearse/motd".text = "upgraded by pull request 42";');
  if (after === before) throw new RehearseError('internal', `the fixture flake's configuration.nix no longer has the line demo --upgrade changes (${cfg})`);
  writeFileSync(cfg, after);
  return dir;
}
