// `demo --upgrade` (and the upgrade benchmark and VM test): the fixture's flake changed the way a
// pull request would change a real one — a file under /etc rewritten, a new one added, a new
// store path in the closure (a versioned file linked from /etc: what `nix store diff-closures`
// lists, as it lists a new package), and a new service that starts cleanly when the switch starts
// multi-user.target (as nixos/tests/switch-test.nix's simpleService) — so that the upgrade has
// something to show.
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { RehearseError } from './errors.js';
import { ownedTempDir } from './leftovers.js';

/** The service the pull request adds (the report's "new units were started"). */
export const PULL_REQUEST_SERVICE = 'rehearse-hello.service';
/** The store path the pull request adds to the closure, as diff-closures names it: name and version. */
export const PULL_REQUEST_PATH = { name: 'rehearse-notes', version: '1.0' } as const;

const SERVICE = [
  '  systemd.services.rehearse-hello = {',
  '    description = "A service pull request 42 adds";',
  '    wantedBy = [ "multi-user.target" ];',
  '    serviceConfig = { Type = "oneshot"; RemainAfterExit = true; };',
  '    script = "echo rehearse-hello: up";',
  '  };',
  '',
].join('\n');

export function pullRequestFlake(base: string): string {
  const dir = ownedTempDir('nixos-rehearse-demo-pr-');
  cpSync(base, dir, { recursive: true });
  const cfg = path.join(dir, 'configuration.nix');
  const before = readFileSync(cfg, 'utf8');
  const release = 'environment.etc."rehearse/release".text = "generation-one";';
  if (!before.includes(release) || !before.includes('\n  services.openssh = {')) throw new RehearseError('internal', `the fixture flake's configuration.nix no longer has the lines demo --upgrade changes (${cfg})`);
  const after = before
    .replace(release, `environment.etc."rehearse/release".text = "pull-request-42";\n  environment.etc."rehearse/motd".text = "upgraded by pull request 42";\n  environment.etc."rehearse/notes".source = builtins.toFile "${PULL_REQUEST_PATH.name}-${PULL_REQUEST_PATH.version}" "release notes of pull request 42\\n";`)
    .replace('\n  services.openssh = {', `\n${SERVICE}  services.openssh = {`);
  writeFileSync(cfg, after);
  return dir;
}
