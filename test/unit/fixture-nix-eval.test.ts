// The fixture's nixpkgs stand-in (vm/fixture/rootfs/usr/share/nixos-fixture/nixpkgs: a module
// system and NixOS modules written in Nix), evaluated by the host's real Nix: the demo
// configuration plus the harness's modules give the very files the former Perl reader
// (eval-config) wrote, the generation is a real derivation over store paths, and mistakes
// fail with NixOS's own wording (nixpkgs lib/modules.nix, lib/options.nix, zfs.nix,
// stage-1.nix). Needs Debian's nix-bin on the host; evaluation only (--readonly-mode, no store
// writes), nothing is built.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { harnessModule, vmHardwareModule, wrapperFlake } from '../../src/runbook/harness.js';
import { parseHardwareConfig } from '../../src/runbook/parsers.js';
import { type Layout, demo, evalError, evalJson, fixturePaths, layoutOf, nixEval, nixPath, recordedLabel, requireNix, system, tree } from '../helpers/fixture-nix.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'fixture-nix-eval-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A module file in the temp dir; returns its Nix path expression. */
function moduleFile(name: string, text: string): string {
  const p = path.join(tmp, name);
  mkdirSync(path.dirname(p), { recursive: true });
  writeFileSync(p, text);
  return nixPath(p);
}

/**
 * The files the fixture's former configuration reader (a Perl script, replaced by this Nix
 * evaluation) wrote for the same configurations, recorded in test/fixtures/fixture-eval/<case>/
 * and keyed as the generation holds them. Only etc/nix/nix.conf was rewritten since: it now
 * carries nix.nix's defaults for the settings the real Nix acts on (sandbox, build users).
 */
function goldenFiles(name: string): Record<string, Buffer> {
  const dir = path.resolve('test/fixtures/fixture-eval', name);
  const moved: Record<string, string> = { 'config.env': 'fixture/config.env', users: 'fixture/users', 'fs-needed-for-boot': 'fixture/fs-needed-for-boot' };
  const files: Record<string, Buffer> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
      const p = path.join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else {
        const rel = path.relative(dir, p);
        files[moved[rel] ?? rel] = readFileSync(p);
      }
    }
  };
  walk(dir);
  return files;
}

/** The bytes a `printf '\ooo...'` of the builder writes. */
const printfBytes = (escapes: string) => Buffer.from([...escapes.matchAll(/\\([0-7]{3})/g)].map((m) => parseInt(m[1]!, 8)));

/**
 * Every recorded file, byte for byte, in the generation; no other file of the former reader's
 * in it. SUPPORTED_FILESYSTEMS is NixOS's value (boot.supportedFilesystems takes every
 * fileSystems fsType, filesystems.nix) where the former reader listed the explicit definitions.
 */
function expectSameFiles(nix: Layout, perl: Record<string, Buffer>, supportedFilesystems: string): void {
  const fromBuildToplevel = new Set(['etc/nix/registry.json', 'fixture/kernel-version', 'kernel-params', 'nixos-version', 'system', 'boot.json', 'init', 'activate', 'bin/switch-to-configuration']);
  for (const [file, bytes] of Object.entries(perl)) {
    if (file === 'etc/hostid') {
      expect(nix.hostid, 'etc/hostid').not.toBeNull();
      expect(printfBytes(nix.hostid!).equals(bytes), 'etc/hostid bytes').toBe(true);
      continue;
    }
    expect(Object.keys(nix.files), `${file} is in the generation`).toContain(file);
    let want = bytes.toString('utf8');
    if (file === 'fixture/config.env') {
      expect(want).toMatch(/^SUPPORTED_FILESYSTEMS=''$/m);
      want = want.replace(/^SUPPORTED_FILESYSTEMS=''$/m, `SUPPORTED_FILESYSTEMS='${supportedFilesystems}'`);
    }
    expect(nix.files[file], file).toBe(want);
  }
  const extra = Object.keys(nix.files).filter((f) => !(f in perl) && !fromBuildToplevel.has(f));
  expect(extra).toEqual([]);
  expect(nix.hostid === null).toBe(!('etc/hostid' in perl));
}

/** A wrapper flake (harness.ts wrapperFlake) over `base`, with the given modules beside it. */
function wrapper(name: string, base: string, modules: Record<string, string>): string {
  const dir = path.join(tmp, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'flake.nix'), wrapperFlake('server').replace('path:/tmp/rehearse/config', `path:${base}`));
  for (const [f, text] of Object.entries(modules)) writeFileSync(path.join(dir, f), text);
  return dir;
}

const harnessText = harnessModule({ sshPublicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIRehearse rehearse', password: 'per-run-secret' }).content;
const zfsHardware = vmHardwareModule(parseHardwareConfig(readFileSync(path.resolve('test/fixtures/runbook/hardware-configuration.runbook.nix'), 'utf8'))).content;
const ext4Hardware = vmHardwareModule(
  parseHardwareConfig(`{
  fileSystems."/" = { device = "/dev/disk/by-uuid/7d6cd668-7af3-4fd7-8ada-04c1143a69b2"; fsType = "ext4"; };
  fileSystems."/boot" = { device = "/dev/disk/by-uuid/5357-F852"; fsType = "vfat"; options = [ "fmask=0022" "dmask=0022" ]; };
}`),
).content;
// What fixture-nixos-fidelity.test.ts adds: tmpfs and bind mounts, a forced sshd setting, flakes.
const extraModule = `{ lib, ... }:
{
  fileSystems."/persist" = { device = lib.mkForce "rpool/safe/persist"; fsType = lib.mkForce "zfs"; options = lib.mkForce [ "zfsutil" ]; };
  fileSystems."/tmp" = { fsType = "tmpfs"; options = [ "mode=1777" ]; };
  fileSystems."/var/lib/app" = { device = "/persist/app"; options = [ "bind" ]; };
  services.openssh.settings.PasswordAuthentication = lib.mkForce true;
  nix.settings.experimental-features = [ "nix-command" "flakes" ];
  users.users.root.hashedPassword = "!";
}
`;

beforeAll(requireNix);

describe('the demo configuration and the harness, evaluated by Nix, give the recorded generation files', () => {
  it('the demo flake alone', () => {
    expectSameFiles(layoutOf(system()), goldenFiles('demo'), 'vfat zfs');
  });

  it('extended with harness.nix and the ZFS layout’s vm-hardware.nix (the wrapper flake)', () => {
    const dir = wrapper('wrap-zfs', demo, { 'harness.nix': harnessText, 'vm-hardware.nix': zfsHardware });
    const nix = layoutOf(system({ extend: [nixPath(`${dir}/harness.nix`), nixPath(`${dir}/vm-hardware.nix`)] }));
    expectSameFiles(nix, goldenFiles('wrap-zfs'), 'vfat zfs');
    expect(nix.files['fixture/config.env']).toMatch(/^USERS='admin rehearse'$/m);
    expect(nix.files['fixture/config.env']).toMatch(/^ROOT_OPTIONS='defaults'$/m);
    expect(nix.files['kernel-params']).toBe('root=ZFS=rpool/local/root spl.spl_hostid=0x3f9a2c1d console=ttyS0,115200n8');
  });

  it('extended for an ext4 VM: the mounts it has no disk for are off (fileSystems.<mp>.enable)', () => {
    const dir = wrapper('wrap-ext4', demo, { 'harness.nix': harnessText, 'vm-hardware.nix': ext4Hardware });
    const nix = layoutOf(system({ extend: [nixPath(`${dir}/harness.nix`), nixPath(`${dir}/vm-hardware.nix`)] }));
    expectSameFiles(nix, goldenFiles('wrap-ext4'), 'ext4 vfat');
    expect(nix.files['etc/fstab']).not.toMatch(/rpool/);
    expect(nix.files['kernel-params']).toBe('root=UUID=7d6cd668-7af3-4fd7-8ada-04c1143a69b2 rootfstype=ext4 rootflags=defaults console=ttyS0,115200n8');
  });

  it('with tmpfs and bind mounts, a forced sshd setting, nix features and a root password', () => {
    const dir = wrapper('wrap-extra', demo, { 'harness.nix': harnessText, 'vm-hardware.nix': extraModule });
    const nix = layoutOf(system({ extend: [nixPath(`${dir}/harness.nix`), nixPath(`${dir}/vm-hardware.nix`)] }));
    expectSameFiles(nix, goldenFiles('wrap-extra'), 'auto tmpfs vfat zfs');
    expect(nix.files['etc/fstab']).toContain('\ntmpfs /tmp tmpfs mode=1777 0 0\n');
    expect(nix.files['etc/fstab']).toContain('\n/persist/app /var/lib/app auto bind 0 0\n');
    expect(nix.files['etc/nix/nix.conf']).toMatch(/^experimental-features = nix-command flakes$/m);
    expect(nix.files['etc/pam.d/sshd']).toMatch(/^auth sufficient pam_unix\.so likeauth try_first_pass$/m);
    expect(nix.files['fixture/users']).toContain('root\t!\t-\t-\t-\n');
  });
});

describe('environment.etc with a source (nixpkgs nixos/modules/system/etc/etc.nix)', () => {
  it('links etc/<target> to the source, a store path the generation then holds in its closure; text entries stay files', () => {
    const mod = `{ ... }: {\n  environment.etc."rehearse/notes".source = builtins.toFile "rehearse-notes-1.0" "what pull request 42 adds\\n";\n  environment.etc."rehearse/off" = { enable = false; source = builtins.toFile "off" "x"; };\n}\n`;
    const dir = wrapper('wrap-etc-source', demo, { 'harness.nix': harnessText, 'vm-hardware.nix': mod });
    const nix = layoutOf(system({ extend: [nixPath(`${dir}/harness.nix`), nixPath(`${dir}/vm-hardware.nix`)] }));
    expect(nix.links['etc/rehearse/notes']).toMatch(/^\/nix\/store\/[0-9a-z]{32}-rehearse-notes-1\.0$/);
    expect(nix.files['etc/rehearse/notes']).toBeUndefined();
    expect(nix.links['etc/rehearse/off']).toBeUndefined();
    expect(nix.files['etc/rehearse/release']).toBe('generation-one');
  });
});

describe('systemd.services (systemd-lib.nix serviceToUnit and makeJobScript; switch-test.nix)', () => {
  // A pull request that adds a service, as nixos/tests/switch-test.nix's simpleService does.
  const services = `{ lib, ... }: {
  systemd.services.rehearse-broken = {
    description = "A service this pull request adds";
    wantedBy = [ "multi-user.target" ];
    after = [ "network.target" ];
    environment.GREETING = "hello";
    serviceConfig.Type = "oneshot";
    serviceConfig.RemainAfterExit = true;
    script = "echo starting; exit 1";
  };
  systemd.services.off = { enable = false; wantedBy = [ "multi-user.target" ]; script = "true"; };
  systemd.services.no-command = { wantedBy = [ "multi-user.target" ]; };
}
`;
  it('each enabled service with a command is a unit in /etc/systemd/system, its script a job script, its targets listed', () => {
    const dir = wrapper('wrap-services', demo, { 'harness.nix': harnessText, 'vm-hardware.nix': services });
    const nix = layoutOf(system({ extend: [nixPath(`${dir}/harness.nix`), nixPath(`${dir}/vm-hardware.nix`)] }));
    const unit = nix.files['etc/systemd/system/rehearse-broken.service']!;
    expect(unit).toMatch(/^\[Unit\]\nDescription=A service this pull request adds\nAfter=network\.target\n\n\[Service\]\n/);
    expect(unit).toContain('Environment="GREETING=hello"\n');
    // The generation's own path: `builtins.placeholder "out"`, which Nix replaces when it builds.
    const out = evalJson<string>('builtins.placeholder "out"');
    expect(unit).toContain(`\nExecStart=${out}/fixture/unit-scripts/rehearse-broken-start\n`);
    expect(unit).toMatch(/^Type=oneshot$/m);
    expect(unit).toMatch(/^RemainAfterExit=true$/m);
    expect(nix.files['fixture/unit-scripts/rehearse-broken-start']).toBe('#!/bin/bash\nset -e\necho starting; exit 1\n');
    expect(nix.modes['fixture/unit-scripts/rehearse-broken-start']).toBe('0555');
    expect(nix.files['fixture/wanted-by']).toBe('multi-user.target rehearse-broken.service\n');
    expect(nix.files['fixture/units']).toMatch(/^rehearse-broken\.service [0-9a-f]{64}\n$/);
    // Disabled, or nothing to run: no unit.
    expect(Object.keys(nix.files).filter((f) => /\/(off|no-command)\.service$/.test(f))).toEqual([]);
  });

  it('a changed service has another hash (what switch-to-configuration restarts on)', () => {
    const a = layoutOf(system({ extend: [nixPath(`${wrapper('svc-a', demo, { 'harness.nix': harnessText, 'vm-hardware.nix': services })}/vm-hardware.nix`)] }));
    const b = layoutOf(system({ extend: [nixPath(`${wrapper('svc-b', demo, { 'harness.nix': harnessText, 'vm-hardware.nix': services.replace('exit 1', 'exit 0') })}/vm-hardware.nix`)] }));
    expect(a.files['fixture/units']).not.toBe(b.files['fixture/units']);
  });
});

describe('the generation is a real derivation over store paths', () => {
  // Stand-ins for what the fixture builder adds with nix-store --add-fixed --recursive sha256.
  const inputs = { busybox: 'busybox-static-1.37.0', kernel: 'linux-6.12.57', initrd: 'initrd-linux-6.12.57' };
  const files: Record<keyof typeof inputs, [string, string]> = { busybox: ['bin/busybox', 'busybox'], kernel: ['bzImage', 'kernel'], initrd: ['initrd', 'initrd'] };
  const nix = (...args: string[]) => spawnSync('nix', ['--extra-experimental-features', 'nix-command', ...args], { encoding: 'utf8' });
  const hashes: Record<string, string> = {};
  const storePaths: Record<string, string> = {};
  let sys = '';
  let top: { name: string; builder: string; args: string[]; out: string; links: Record<string, string>; version: string; boot: string };
  beforeAll(() => {
    for (const [k, name] of Object.entries(inputs) as [keyof typeof inputs, string][]) {
      const dir = path.join(tmp, 'inputs', name);
      mkdirSync(path.dirname(path.join(dir, files[k][0])), { recursive: true });
      writeFileSync(path.join(dir, files[k][0]), files[k][1]);
      hashes[k] = nix('hash', 'path', dir).stdout.trim();
      storePaths[k] = nix('--store', 'dummy://', 'store', 'add-path', '--dry-run', '-n', name, dir).stdout.trim();
    }
    sys = system({ label: '25.11.20261101.fa1ce0f', paths: fixturePaths('25.11.20261101.fa1ce0f', inputs, hashes) });
    top = evalJson(
      `let s = ${sys}; t = s.config.system.build.toplevel; l = s.config.system.build.fixtureLayout; in {
        inherit (t) name; out = t.outPath; inherit (t.drvAttrs) builder args; inherit (l) links;
        version = l.files."nixos-version".text; boot = l.files."boot.json".text; }`,
    );
  });

  it('is named nixos-system-<system.name>-<label> (top-level.nix)', () => {
    expect(storePaths.busybox).toMatch(/^\/nix\/store\/[0-9a-z]{32}-busybox-static-1\.37\.0$/);
    expect(top.name).toBe('nixos-system-server-25.11.20261101.fa1ce0f');
    expect(top.out).toMatch(/^\/nix\/store\/[0-9a-z]{32}-nixos-system-server-25\.11\.20261101\.fa1ce0f$/);
    expect(top.version).toBe('25.11.20261101.fa1ce0f');
  });

  it('is built by the fixture’s busybox and links the fixture’s kernel and initrd: the paths nix-store --add-fixed gives', () => {
    expect(top.builder).toBe(`${storePaths.busybox}/bin/busybox`);
    expect(top.args.slice(0, 2)).toEqual(['sh', '-e']);
    expect(top.links.kernel).toBe(`${storePaths.kernel}/bzImage`);
    expect(top.links.initrd).toBe(`${storePaths.initrd}/initrd`);
    expect(top.links.sw).toBe('/usr');
    expect(top.links['fixture/nixpkgs']).toMatch(/^\/nix\/store\/[0-9a-z]{32}-source$/);
    expect(top.boot).toContain(`"kernel": "${storePaths.kernel}/bzImage",`);
    expect(top.boot).toContain('"label": "NixOS Xantusia 25.11.20261101.fa1ce0f (Linux 6.12.57+deb13)",');
  });

  it('pins the nixpkgs source in the flake registry (nixpkgs-flake.nix)', () => {
    const reg = evalJson<string>(`${sys}.config.system.build.fixtureLayout.files."etc/nix/registry.json".text`);
    expect(JSON.parse(reg)).toEqual({ flakes: [{ exact: true, from: { id: 'nixpkgs', type: 'indirect' }, to: { path: top.links['fixture/nixpkgs'], type: 'path' } }], version: 2 });
  });

  it('without networking.hostName is named after NixOS’s default host name, nixos', () => {
    const cfg = moduleFile('nohost/configuration.nix', readFileSync(path.join(demo, 'configuration.nix'), 'utf8').replace(/^\s*networking\.hostName = .*$/m, ''));
    expect(evalJson<string>(`${system({ modules: [cfg, nixPath(`${demo}/hardware-configuration.nix`)], label: '25.11' })}.config.system.build.toplevel.name`)).toBe('nixos-system-nixos-25.11');
  });
});

describe('mistakes fail with NixOS’s wording', () => {
  const toplevel = (extend: string[]) => `${system({ extend })}.config.system.build.toplevel.drvPath`;

  it('an option that does not exist (lib/modules.nix)', () => {
    const m = moduleFile('typo.nix', '{ services.openssh.enabel = true; }\n');
    const err = evalError(toplevel([m]));
    expect(err).toContain(`The option \`services.openssh.enabel' does not exist. Definition values:\n- In \`${path.join(tmp, 'typo.nix')}': true\n`);
    expect(err).toMatch(/Did you mean `services\.openssh\.enable'/);
  });

  it('a definition of the wrong type (lib/modules.nix mergeDefinitions)', () => {
    const m = moduleFile('type.nix', '{ services.openssh.enable = "yes"; }\n');
    expect(evalError(toplevel([m]))).toContain(
      `A definition for option \`services.openssh.enable' is not of type \`boolean'. Definition values:\n- In \`${path.join(tmp, 'type.nix')}': "yes"\n`,
    );
  });

  it('two different values for a unique option (lib/options.nix mergeEqualOption)', () => {
    const m = moduleFile('conflict.nix', '{ networking.hostName = "other"; }\n');
    const err = evalError(toplevel([m]));
    expect(err).toContain("The option `networking.hostName' has conflicting definition values:");
    expect(err).toContain(`- In \`${path.join(tmp, 'conflict.nix')}': "other"`);
    expect(err).toContain(`- In \`${path.join(demo, 'configuration.nix')}': "server"`);
    expect(err).toContain('Use `lib.mkForce value` or `lib.mkDefault value` to change the priority on any of these definitions.');
  });

  it('ZFS without networking.hostId (zfs.nix assertion)', () => {
    const cfg = moduleFile('nohostid/configuration.nix', readFileSync(path.join(demo, 'configuration.nix'), 'utf8').replace(/^\s*networking\.hostId = .*$/m, ''));
    const err = evalError(`${system({ modules: [cfg, nixPath(`${demo}/hardware-configuration.nix`)] })}.config.system.build.toplevel.drvPath`);
    expect(err).toContain('Failed assertions:\n- ZFS requires networking.hostId to be set');
  });

  it('a host id that is not 8 hex digits (network-interfaces.nix assertion)', () => {
    const m = moduleFile('hostid.nix', '{ lib, ... }: { networking.hostId = lib.mkForce "not-hex!"; }\n');
    expect(evalError(toplevel([m]))).toContain('Failed assertions:\n- Invalid value given to the networking.hostId option.');
  });

  it('no root file system (stage-1.nix assertion)', () => {
    const m = moduleFile('noroot.nix', '{ lib, ... }: { fileSystems."/".enable = lib.mkForce false; }\n');
    expect(evalError(toplevel([m]))).toContain('Failed assertions:\n- The ‘fileSystems’ option does not specify your root file system.');
  });

  it('a file system without a device (filesystems.nix)', () => {
    const m = moduleFile('nodevice.nix', '{ fileSystems."/data".fsType = "ext4"; }\n');
    expect(evalError(toplevel([m]))).toContain('No device specified for mount point ‘/data’.');
  });

  it('warns, without failing, when system.stateVersion is not set (version.nix)', () => {
    const cfg = moduleFile('nostate/configuration.nix', readFileSync(path.join(demo, 'configuration.nix'), 'utf8').replace(/^\s*system\.stateVersion = .*$/m, ''));
    const r = nixEval(`${system({ modules: [cfg, nixPath(`${demo}/hardware-configuration.nix`)] })}.config.system.build.toplevel.name`);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('evaluation warning: system.stateVersion is not set, defaulting to 25.11.');
  });
});

describe('priorities, conditions, ordering and extendModules behave as in NixOS', () => {
  const env = (extend: string[]) => evalJson<Record<string, string>>(`${system({ extend })}.config.system.build.fixtureLayout.env`);

  it('mkForce beats a plain definition, mkDefault loses to it, mkOverride 10 beats mkForce', () => {
    expect(env([moduleFile('force.nix', '{ lib, ... }: { networking.hostName = lib.mkForce "forced"; }\n')]).HOSTNAME).toBe('forced');
    expect(env([moduleFile('default.nix', '{ lib, ... }: { networking.hostName = lib.mkDefault "weak"; }\n')]).HOSTNAME).toBe('server');
    expect(
      env([moduleFile('override.nix', '{ lib, ... }: { imports = [ { networking.hostName = lib.mkForce "forced"; } ]; networking.hostName = lib.mkOverride 10 "strongest"; }\n')]).HOSTNAME,
    ).toBe('strongest');
  });

  it('mkIf reads the final configuration; mkIf false defines nothing', () => {
    const m = moduleFile('if.nix', '{ config, lib, ... }: { services.getty.autologinUser = lib.mkIf config.services.openssh.enable "admin"; boot.kernelParams = lib.mkIf false [ "never" ]; }\n');
    const e = env([m]);
    expect(e.AUTOLOGIN_USER).toBe('admin');
    expect(e.KERNEL_PARAMS).toBe('');
  });

  it('mkMerge merges, mkBefore and mkAfter order list definitions', () => {
    const m = moduleFile('merge.nix', '{ lib, ... }: { boot.kernelParams = lib.mkMerge [ [ "middle" ] (lib.mkAfter [ "last" ]) (lib.mkBefore [ "first" ]) ]; }\n');
    expect(env([m]).KERNEL_PARAMS).toBe('first middle last');
  });

  it('extendModules adds to the configuration and leaves the original as it was', () => {
    const m = moduleFile('extend.nix', '{ lib, ... }: { networking.hostName = lib.mkForce "extended"; }\n');
    const both = evalJson<[string, string]>(`let base = ${system()}; ext = base.extendModules { modules = [ ${m} ]; }; in [ base.config.networking.hostName ext.config.networking.hostName ]`);
    expect(both).toEqual(['server', 'extended']);
    expect(evalJson<string>(`${system()}._type`)).toBe('configuration');
  });
});

describe('common options a configuration sets are declared with NixOS’s types', () => {
  const common = `{ config, lib, pkgs, ... }:
{
  imports = [ (lib.mkRemovedOptionModule [ "services" "oldThing" ] "It is gone.") ];
  nixpkgs.config.allowUnfree = true;
  boot.kernelPackages = pkgs.linuxPackages_latest;
  boot.loader.systemd-boot.configurationLimit = 10;
  boot.loader.efi.efiSysMountPoint = "/boot";
  boot.zfs.forceImportRoot = false;
  boot.zfs.extraPools = [ "tank" ];
  hardware.cpu.amd.updateMicrocode = true;
  time.timeZone = "Europe/Berlin";
  i18n.defaultLocale = "de_DE.UTF-8";
  console.keyMap = "de";
  environment.systemPackages = [ pkgs.vim pkgs.git ];
  programs.zsh.enable = true;
  security.sudo.wheelNeedsPassword = false;
  users.mutableUsers = false;
  users.users.admin = { description = "Admin"; uid = 1000; shell = "/run/current-system/sw/bin/zsh"; extraGroups = [ "networkmanager" ]; };
  users.users.svc = { isSystemUser = true; group = "svc"; home = "/var/lib/svc"; initialHashedPassword = "$y$j9T$x"; };
  users.groups.svc = { };
  networking.firewall.allowedTCPPorts = [ 22 80 443 ];
  networking.nameservers = [ "1.1.1.1" ];
  nix.settings = { auto-optimise-store = true; trusted-users = [ "@wheel" ]; experimental-features = "nix-command flakes"; };
  nix.gc = { automatic = true; dates = "weekly"; options = "--delete-older-than 30d"; };
  services.zfs.autoScrub.enable = true;
  systemd.services.hello = { description = "hello"; wantedBy = [ "multi-user.target" ]; after = [ "network.target" ]; serviceConfig = { Type = "oneshot"; ExecStart = "/bin/true"; }; script = "echo hi"; };
}
`;

  it('evaluate, and the honoured ones reach the generation (users.mutableUsers = false makes initialHashedPassword the password)', () => {
    const sys = system({ extend: [moduleFile('common.nix', common)] });
    const r = evalJson<{ env: Record<string, string>; users: string; ports: number[]; gc: string[]; name: string }>(
      `let s = ${sys}; in { env = s.config.system.build.fixtureLayout.env; users = s.config.system.build.fixtureLayout.files."fixture/users".text;
        ports = s.config.networking.firewall.allowedTCPPorts; gc = s.config.nix.gc.dates; name = s.config.system.build.toplevel.name; }`,
    );
    expect(r.env.EXPERIMENTAL_FEATURES).toBe('nix-command flakes');
    expect(r.env.USERS).toBe('admin svc');
    expect(r.users).toContain('svc\t$y$j9T$x\t-\t-\t$y$j9T$x\n');
    expect(r.ports).toEqual([22, 80, 443]);
    expect(r.gc).toEqual(['weekly']);
    expect(r.name).toBe(`nixos-system-server-${recordedLabel}`);
  });

  it('pkgs has no packages: reading one is Nix’s missing-attribute error', () => {
    const sys = system({ extend: [moduleFile('common.nix', common)] });
    expect(evalError(`${sys}.config.environment.systemPackages`)).toContain("attribute 'vim' missing");
  });
});

