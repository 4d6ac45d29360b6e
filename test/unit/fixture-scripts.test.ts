// The fixture's guest-side commands (vm/fixture/rootfs, initrd/init) are shell and Perl run
// inside the fixture VM: a syntax error or a lost executable bit would only show minutes into a
// VM test. Check both here, in milliseconds.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve('vm/fixture');
const scripts = [
  path.join(root, 'initrd/init'),
  ...['rootfs/usr/local/bin', 'rootfs/usr/lib/nixos-fixture'].flatMap((d) => readdirSync(path.join(root, d)).map((f) => path.join(root, d, f))),
];

describe('fixture guest scripts', () => {
  it.each(scripts.map((s) => [path.relative(root, s), s]))('%s parses and is executable unless sourced', (_, file) => {
    const text = readFileSync(file, 'utf8');
    const shebang = text.split('\n')[0]!;
    if (file.endsWith('.sh')) {
      execFileSync('sh', ['-n', file]);
      return;
    }
    expect(statSync(file).mode & 0o111, 'executable bit').not.toBe(0);
    if (shebang.includes('perl')) execFileSync('perl', ['-c', file], { stdio: 'pipe' });
    else if (shebang.includes('bash')) execFileSync('bash', ['-n', file]);
    else if (shebang.includes('/bin/sh')) execFileSync('sh', ['-n', file]);
    else throw new Error(`unknown interpreter: ${shebang}`);
  });
});
