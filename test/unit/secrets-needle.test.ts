// secrets-not-in-store searches the store for this run's private key. A flake system's closure
// carries nixpkgs' source, which holds unencrypted ed25519 test keys, e.g. alice's in
// nixpkgs nixos/tests/gitolite-declarative.nix (test/fixtures/ssh/, copied verbatim): what is
// searched for must be unique to this run's key, never the format's common header.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { privateKeyNeedle } from '../../src/verify/parsers.js';

const alice = readFileSync('test/fixtures/ssh/nixpkgs-gitolite-declarative-alice.key', 'utf8');

function freshKey(type = 'ed25519'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'needle-'));
  try {
    execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', 'nixos-rehearse', '-f', path.join(dir, 'k')]);
    return readFileSync(path.join(dir, 'k'), 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('privateKeyNeedle', () => {
  it('is not the header line every unencrypted ed25519 key shares (what the check searched for before)', () => {
    const k = freshKey();
    const header = k.split('\n')[1]!;
    expect(alice.split('\n')[1]).toBe(header); // the old needle: nixpkgs' test key matched it
    expect(privateKeyNeedle(k)).not.toBe(header);
    expect(alice).not.toContain(privateKeyNeedle(k));
  });

  it('is a line of the key file, unique to the key, from its private part', () => {
    const a = freshKey();
    const b = freshKey();
    expect(a.split('\n')).toContain(privateKeyNeedle(a));
    expect(privateKeyNeedle(a)).not.toBe(privateKeyNeedle(b));
    expect(b).not.toContain(privateKeyNeedle(a));
    // alice's: the fourth base64 line, which holds her 32-byte seed (PROTOCOL.key layout).
    expect(privateKeyNeedle(alice)).toBe('AAAEB7lbfkkdkJoE+4TKHPdPQWBKLSx+J54Eg8DaTr+3KoSlt5a8eH8BYZYjoQhzXGVKKH');
  });

  it('works for RSA keys too, and refuses what is not an OpenSSH private key', () => {
    const r = freshKey('rsa');
    expect(r.split('\n')).toContain(privateKeyNeedle(r));
    expect(privateKeyNeedle(r)).not.toBe(r.split('\n')[1]);
    expect(() => privateKeyNeedle('ssh-ed25519 AAAA… not a private key')).toThrow(/not an OpenSSH private key/);
  });
});

describe('the nix commands the harness sends', () => {
  it('enable nix-command (and flakes) themselves: a configuration need not enable them', async () => {
    const { CLOSURE_SIZE_COMMAND, NIX } = await import('../../src/verify/parsers.js');
    const { STEPS } = await import('../../src/runbook/plan.js');
    const { layoutByName } = await import('../../src/runbook/layouts.js');
    expect(NIX).toBe("nix --extra-experimental-features 'nix-command flakes'");
    expect(CLOSURE_SIZE_COMMAND).toBe(`${NIX} path-info -Sh /run/current-system`);
    const ctx = { layout: layoutByName('zfs'), serials: ['S0'], disks: ['/dev/nvme0n1'], flakeRef: '/tmp/rehearse/flake#server' };
    const nixCommands = STEPS.flatMap((s) => s.commands(ctx)).filter((c) => /(^|[;&|] *|sudo )nix /.test(c));
    expect(nixCommands.length).toBeGreaterThan(0);
    for (const c of nixCommands) expect(c).toContain(NIX);
  });
});
