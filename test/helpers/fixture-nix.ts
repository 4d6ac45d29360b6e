// The fixture's nixpkgs stand-in (vm/fixture/rootfs/usr/share/nixos-fixture/nixpkgs) evaluated by
// the host's Nix (Debian's nix-bin): nixosSystem over a configuration, its generation's files.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { expect } from 'vitest';

export const tree = path.resolve('vm/fixture/rootfs/usr/share/nixos-fixture/nixpkgs');
export const demo = path.resolve('vm/fixture/flake');

export function requireNix(): void {
  const r = spawnSync('nix-instantiate', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Error("install Debian's nix-bin: apt-get install -y nix-bin");
}

/** A Nix path expression for an absolute path. */
export const nixPath = (p: string) => `(/. + ${JSON.stringify(p)})`;

/** The label the recorded files carry in /etc/issue (the former reader's fallback). */
export const recordedLabel = '25.11';

/** fixture-paths.nix as the fixture builder generates it (hashes of nothing in particular here). */
export const fixturePaths = (label: string, inputs = { busybox: 'busybox-static-1.37.0', kernel: 'linux-6.12.57', initrd: 'initrd-linux-6.12.57' }, hashes: Record<string, string> = {}) => `{
  nixosLabel = "${label}";
  kernelVersion = "6.12.57+deb13-amd64";
  busybox = { name = "${inputs.busybox}"; narHash = "${hashes.busybox ?? 'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='}"; };
  kernel = { name = "${inputs.kernel}"; narHash = "${hashes.kernel ?? 'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='}"; };
  initrd = { name = "${inputs.initrd}"; narHash = "${hashes.initrd ?? 'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='}"; };
}`;

export interface SystemSpec {
  /** The configuration's modules (Nix expressions); default: the demo flake's two files. */
  modules?: string[];
  /** Modules added with extendModules, as the harness's wrapper flake does. */
  extend?: string[];
  label?: string;
  paths?: string;
}

/** nixosSystem of the fixture's flake (self.outPath = the tree), optionally extended. */
export function system(s: SystemSpec = {}): string {
  const modules = s.modules ?? [nixPath(`${demo}/configuration.nix`), nixPath(`${demo}/hardware-configuration.nix`)];
  const base = `self.lib.nixosSystem {
    system = "x86_64-linux";
    fixturePaths = ${s.paths ?? fixturePaths(s.label ?? recordedLabel)};
    modules = [ ${modules.join(' ')} ];
  }`;
  return `(let
  tree = ${nixPath(tree)};
  flake = import (tree + "/flake.nix");
  self = flake.outputs { inherit self; } // { outPath = builtins.path { path = tree; name = "source"; }; };
  base = ${base};
in ${s.extend ? `base.extendModules { modules = [ ${s.extend.join(' ')} ]; }` : 'base'})`;
}

export function nixEval(expr: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('nix-instantiate', ['--readonly-mode', '--store', 'dummy://', '--eval', '--strict', '--json', '-E', expr], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function evalJson<T>(expr: string): T {
  const r = nixEval(expr);
  if (r.status !== 0) throw new Error(`nix-instantiate failed:\n${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** Nix's error text with its indentation removed (each line trimmed at the start). */
export function evalError(expr: string): string {
  const r = nixEval(expr);
  expect(r.status, `expected an evaluation error, got ${r.stdout}`).not.toBe(0);
  return r.stderr.replace(/^[ \t]+/gm, '');
}

export interface Layout {
  files: Record<string, string>;
  modes: Record<string, string>;
  links: Record<string, string>;
  hostid: string | null;
  name: string;
}
export const layoutOf = (sys: string) =>
  evalJson<Layout>(`let s = ${sys}; l = s.config.system.build.fixtureLayout; in {
    files = builtins.mapAttrs (n: f: f.text) l.files; modes = builtins.mapAttrs (n: f: f.mode) l.files; inherit (l) links hostid;
    name = s.config.system.build.toplevel.name;
  }`);

