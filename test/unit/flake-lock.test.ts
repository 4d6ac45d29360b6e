// flake.lock diff on a real-shaped lock (nixpkgs, home-manager and friends following nixpkgs),
// plus the edge cases of the format: follows at the root, loops, tarball inputs, bad files.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { diffFlakeLock } from '../../src/flake-lock.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/flake-lock/${name}`, import.meta.url), 'utf8');
const base = fixture('base.flake.lock');
const head = fixture('head.flake.lock');

/** A minimal lock: `root` inputs and the other nodes given as they appear in the file. */
function lock(rootInputs: Record<string, string | string[]>, nodes: Record<string, object>): string {
  return JSON.stringify({ version: 7, root: 'root', nodes: { root: { inputs: rootInputs }, ...nodes } });
}
const gh = (repo: string, rev: string, lastModified = 1_700_000_000, narHash = `sha256-${rev}`) => ({
  locked: { type: 'github', owner: 'NixOS', repo, rev, lastModified, narHash },
  original: { type: 'github', owner: 'NixOS', repo },
});

describe('diffFlakeLock', () => {
  it('reports updated, added and removed direct inputs, not unchanged ones or nested follows', () => {
    expect(diffFlakeLock(base, head)).toEqual([
      { input: 'disko', change: 'removed', old: { rev: '20927c4aee9ae3797303941f8584cdcff32e8103', lastModified: 1747742835, url: 'github:nix-community/disko' } },
      {
        input: 'home-manager',
        change: 'updated',
        old: { rev: '55450bb942c30423e2be99711cb2274c27a5a959', lastModified: 1748002913, url: 'github:nix-community/home-manager' },
        new: { rev: 'd02314d41e514cbeca7f05cdb792b5ac9da24d83', lastModified: 1763992789, url: 'github:nix-community/home-manager' },
      },
      {
        input: 'nixpkgs',
        change: 'updated',
        old: { rev: 'd751db50e0139c4af23270b6622181a441eebe18', lastModified: 1748162295, url: 'github:NixOS/nixpkgs' },
        new: { rev: '1b352220054ea81b799777b590ca55ae072aac29', lastModified: 1764020296, url: 'github:NixOS/nixpkgs' },
      },
      { input: 'sops-nix', change: 'added', new: { rev: 'df8584c906cd001e70dfedaccd66ca68c56c8448', lastModified: 1763607916, url: 'github:Mic92/sops-nix' } },
    ]);
  });

  it('finds nothing when the lock did not change, and everything added when the base has none', () => {
    expect(diffFlakeLock(head, head)).toEqual([]);
    expect(diffFlakeLock(undefined, head).map((c) => `${c.change} ${c.input}`)).toEqual(['added home-manager', 'added impermanence', 'added nixpkgs', 'added sops-nix']);
  });

  it('compares inputs by name, not by node key (nixpkgs_2)', () => {
    const a = lock({ nixpkgs: 'nixpkgs' }, { nixpkgs: gh('nixpkgs', 'a'.repeat(40)) });
    const b = lock({ nixpkgs: 'nixpkgs_2' }, { nixpkgs: gh('nixpkgs', 'b'.repeat(40)), nixpkgs_2: gh('nixpkgs', 'a'.repeat(40)) });
    expect(diffFlakeLock(a, b)).toEqual([]);
  });

  it('resolves a root input that follows another from the root, and skips follows that lead nowhere', () => {
    const mk = (rev: string) =>
      lock(
        {
          nixpkgs: 'nixpkgs',
          'nixpkgs-stable': ['nixpkgs'],
          // Through another follows: home-manager/nixpkgs is itself ["nixpkgs"].
          'hm-pkgs': ['home-manager', 'nixpkgs'],
          broken: ['does-not-exist'],
          loop: ['loop'],
          self: [],
          'home-manager': 'home-manager',
        },
        { nixpkgs: gh('nixpkgs', rev), 'home-manager': { ...gh('home-manager', 'c'.repeat(40)), inputs: { nixpkgs: ['nixpkgs'] } } },
      );
    const changes = diffFlakeLock(mk('a'.repeat(40)), mk('b'.repeat(40)));
    expect(changes.map((c) => `${c.change} ${c.input} ${c.old?.rev?.[0]}→${c.new?.rev?.[0]}`)).toEqual(['updated hm-pkgs a→b', 'updated nixpkgs a→b', 'updated nixpkgs-stable a→b']);
  });

  it('sees a tarball input move by its NAR hash (it has no rev)', () => {
    const mk = (narHash: string) => lock({ nixpkgs: 'nixpkgs' }, { nixpkgs: { locked: { type: 'tarball', url: 'https://channels.nixos.org/nixos-25.11/nixexprs.tar.xz', narHash, lastModified: 1_764_000_000 }, original: { type: 'tarball', url: 'https://channels.nixos.org/nixos-25.11/nixexprs.tar.xz' } } });
    expect(diffFlakeLock(mk('sha256-AAAA'), mk('sha256-BBBB'))).toEqual([
      {
        input: 'nixpkgs',
        change: 'updated',
        old: { rev: undefined, lastModified: 1_764_000_000, url: 'https://channels.nixos.org/nixos-25.11/nixexprs.tar.xz' },
        new: { rev: undefined, lastModified: 1_764_000_000, url: 'https://channels.nixos.org/nixos-25.11/nixexprs.tar.xz' },
      },
    ]);
  });

  it('says which file is broken', () => {
    expect(() => diffFlakeLock('{ "nodes": ', head)).toThrow(/^flake\.lock on the base branch is not valid JSON/);
    expect(() => diffFlakeLock(base, '<<<<<<< HEAD')).toThrow(/^flake\.lock in this change is not valid JSON/);
    expect(() => diffFlakeLock(base, JSON.stringify({ version: 4, root: 'root', nodes: { root: {} } }))).toThrow(/flake\.lock in this change has unsupported lock file version 4/);
    expect(() => diffFlakeLock(base, JSON.stringify({ version: 7, root: 'root', nodes: {} }))).toThrow(/flake\.lock in this change is not a flake lock file/);
    expect(() => diffFlakeLock(base, '[]')).toThrow(/flake\.lock in this change is not a flake lock file/);
  });

  it('refuses a hostile lock before anything renders it: a numeric rev, a bad follows, a string time (#15 item 8)', () => {
    // A numeric rev went through before, and threw in the renderer (rev.slice) after the run.
    const bad = (node: object) => lock({ nixpkgs: 'nixpkgs' }, { nixpkgs: node });
    expect(() => diffFlakeLock(base, bad({ locked: { type: 'github', owner: 'NixOS', repo: 'nixpkgs', rev: 12345, narHash: 'sha256-x' } }))).toThrow('flake.lock in this change: node "nixpkgs": locked.rev is not a string');
    expect(() => diffFlakeLock(base, bad({ locked: { type: 'github', owner: { $: 1 }, repo: 'nixpkgs', rev: 'a' } }))).toThrow(/locked\.owner is not a string/);
    expect(() => diffFlakeLock(base, bad({ locked: { type: 'github', rev: 'a', lastModified: 'yesterday' } }))).toThrow(/locked\.lastModified is not a time in seconds/);
    expect(() => diffFlakeLock(base, bad({ locked: 'github:NixOS/nixpkgs' }))).toThrow(/"locked" is not an object/);
    expect(() => diffFlakeLock(base, lock({ nixpkgs: 7 as unknown as string }, {}))).toThrow(/node "root": input "nixpkgs" is neither a node name nor a follows path/);
    expect(() => diffFlakeLock(base, lock({ nixpkgs: 'nixpkgs' }, { nixpkgs: null as unknown as object }))).toThrow(/node "nixpkgs" is not an object/);
  });
});
