// What the rehearsal adds to the configuration under test, rendered as Nix files, pure (but for
// writeHarness, which copies them into the guest).
//
// The user's flake is not edited. A wrapper flake takes it as a `path:` input and extends its
// host with two modules (NixOS `extendModules`, nixpkgs lib/modules.nix):
//   harness.nix      the VM's needs: serial console, an address on QEMU's NIC (matched by its
//                    MAC, the rest of the user's networking untouched), a login for the per-run
//                    SSH key (and a per-run password, to prove password logins are refused),
//                    serial autologin for the engine. Nothing else: the configuration's own
//                    networking.hostId, sshd settings and users are what is rehearsed.
//   vm-hardware.nix  device, fsType and options of the mount points nixos-generate-config found
//                    on the VM's disks, forced over the real machine's hardware-configuration.nix
//                    (which names disks the VM does not have); every other attribute
//                    (neededForBoot, …) and every other mount (tmpfs, bind) stays the user's
// The report lists every file and setting injected (Report.injected).
import { createHash } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ownedTempDir } from '../leftovers.js';
import type { Injected } from '../report.js';
import { VM_NIC } from '../qemu/spec.js';
import { LAYOUTS, layoutByName } from './layouts.js';
import type { HardwareConfig } from './parsers.js';

export const GUEST_DIR = '/tmp/rehearse';
export const GUEST_CONFIG = `${GUEST_DIR}/config`;
export const GUEST_FLAKE = `${GUEST_DIR}/flake`;
/** The user the per-run SSH key logs in as (the configuration's own users are left alone). */
export const REHEARSE_USER = 'rehearse';
/** The name the harness gives QEMU's NIC (a .link file matching its MAC). */
export const VM_NIC_NAME = 'rehearse0';

const nixString = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\$\{/g, '\\${')}"`;

export function wrapperFlake(host: string): string {
  return `{
  description = "nixos-rehearse: ${host} from the configuration under test, with the rehearsal VM's settings";

  inputs.config.url = "path:${GUEST_CONFIG}";

  outputs = { self, config, ... }: {
    nixosConfigurations.${nixString(host)} = config.nixosConfigurations.${nixString(host)}.extendModules {
      modules = [ ./harness.nix ./vm-hardware.nix ];
    };
  };
}
`;
}

export interface HarnessOptions {
  sshPublicKey: string;
  /** The rehearse user's throw-away password (rehearsePassword): a password login must be refused. */
  password: string;
  /** The generation this harness builds (1 for the install): the rebuild's known, visible change. */
  generation?: number;
}

/**
 * The rehearse user's password for this run: derived from the run's private key (so a rebuild of a
 * kept install writes the same one), never the key itself. It only lives in the throw-away VM.
 */
export function rehearsePassword(privateKey: string): string {
  return createHash('sha256').update('nixos-rehearse password\0').update(privateKey).digest('base64url').slice(0, 24);
}

export function harnessModule(o: HarnessOptions): Injected {
  const settings = [
    'boot.kernelParams += [ "console=ttyS0,115200n8" ]: a login and the boot log on the serial console the rehearsal reads',
    'services.getty.autologinUser = "root" (forced): the engine logs in on the serial console after reboot',
    // nixpkgs nixos/doc/manual/configuration/renaming-interfaces.section.md: "links are directly
    // read by udev, not networkd, and will work even if networkd is disabled".
    `systemd.network.links."10-rehearse-nic": QEMU's NIC (MAC ${VM_NIC.mac}) is named ${VM_NIC_NAME}; the configuration's own interfaces are left as they are`,
    `networking.interfaces.${VM_NIC_NAME}.ipv4.addresses = ${VM_NIC.address}/${VM_NIC.prefixLength}: QEMU's user network, where the host reaches the VM's sshd`,
    `users.users.${REHEARSE_USER}: a normal user holding this run's SSH public key (its private key never leaves the host) and a throw-away password (initialPassword) that a password login must not get past`,
    `environment.etc."nixos-rehearse/generation".text = "${o.generation ?? 1}": the known change a rebuild makes visible`,
  ];
  const lines = [
    '# Added by nixos-rehearse for the rehearsal VM only (see report.json "injected").',
    '{ lib, ... }:',
    '{',
    '  boot.kernelParams = [ "console=ttyS0,115200n8" ];',
    '  services.getty.autologinUser = lib.mkForce "root";',
    '  # QEMU\'s NIC, matched by its MAC (nixpkgs nixos/doc/manual/configuration/renaming-interfaces.section.md).',
    '  systemd.network.links."10-rehearse-nic" = {',
    `    matchConfig.PermanentMACAddress = ${nixString(VM_NIC.mac)};`,
    `    linkConfig.Name = ${nixString(VM_NIC_NAME)};`,
    '  };',
    `  networking.interfaces.${VM_NIC_NAME}.ipv4.addresses = [ { address = ${nixString(VM_NIC.address)}; prefixLength = ${VM_NIC.prefixLength}; } ];`,
    `  users.users.${REHEARSE_USER} = {`,
    '    isNormalUser = true;',
    `    openssh.authorizedKeys.keys = [ ${nixString(o.sshPublicKey.trim())} ];`,
    `    initialPassword = ${nixString(o.password)};`,
    '  };',
    `  environment.etc."nixos-rehearse/generation".text = "${o.generation ?? 1}";`,
    '}',
    '',
  ];
  return { file: `${GUEST_FLAKE}/harness.nix`, content: lines.join('\n'), settings };
}

/**
 * The VM's file systems, from the hardware-configuration.nix nixos-generate-config wrote in the VM:
 * device, fsType and options forced for each of its mount points, nothing else. A mount point
 * without options gets NixOS's default, [ "defaults" ] (nixpkgs nixos/modules/tasks/filesystems.nix),
 * so that the real machine's options for another device do not leak onto the VM's.
 */
/** Every mount point a runbook layout puts on disk: those a configuration written for one may name. */
export const RUNBOOK_MOUNT_POINTS: readonly string[] = [...new Set(LAYOUTS.flatMap((l) => layoutByName(l).mounts.map((m) => m.at)))];

export function vmHardwareModule(hw: HardwareConfig): Injected {
  const mps = Object.keys(hw.fileSystems).sort((a, b) => a.length - b.length || a.localeCompare(b));
  // A runbook mount point the VM's layout has no disk for (the ZFS layout's /nix and /persist in
  // an ext4 rehearsal): off, as the VM has nothing to mount there. `enable` is NixOS's own switch
  // (nixpkgs nixos/modules/tasks/filesystems.nix: fileSystems' apply drops disabled entries), so
  // a configuration that never named the mount point is unchanged by it.
  const absent = RUNBOOK_MOUNT_POINTS.filter((mp) => !hw.fileSystems[mp]);
  const lines = [
    '# Added by nixos-rehearse: the file systems on the rehearsal VM\'s disks (from',
    '# nixos-generate-config --root /mnt): device, fsType and options replace the real',
    '# machine\'s; its other attributes (neededForBoot, ...) and other mounts stay.',
    '{ lib, ... }:',
    '{',
  ];
  for (const mp of mps) {
    const f = hw.fileSystems[mp]!;
    const opts = f.options.length ? f.options : ['defaults'];
    lines.push(
      `  fileSystems.${nixString(mp)} = {`,
      `    device = lib.mkForce ${nixString(f.device ?? '')};`,
      `    fsType = lib.mkForce ${nixString(f.fsType ?? '')};`,
      `    options = lib.mkForce [ ${opts.map(nixString).join(' ')} ];`,
      '  };',
    );
  }
  for (const mp of absent) lines.push(`  fileSystems.${nixString(mp)}.enable = lib.mkForce false;`);
  lines.push('  swapDevices = lib.mkForce [ ];', '}', '');
  return {
    file: `${GUEST_FLAKE}/vm-hardware.nix`,
    content: lines.join('\n'),
    settings: [
      `fileSystems.<mount point>.{device,fsType,options} (forced): ${mps.map((m) => `${m} = ${hw.fileSystems[m]!.device}`).join(', ')}`,
      ...(absent.length ? [`fileSystems.<mount point>.enable = false (forced) for the runbook mount points this VM's layout has no disk for: ${absent.join(', ')}`] : []),
      'swapDevices = [ ] (forced)',
    ],
  };
}

/** The wrapper flake's files, in the order harnessFiles gives them. */
export const HARNESS_FILE_NAMES = ['flake.nix', 'harness.nix', 'vm-hardware.nix'] as const;

/**
 * The wrapper flake's three files for `host` (pure): flake.nix, harness.nix and vm-hardware.nix,
 * as the report lists them. `vmHardware` is the installer's parsed hardware-configuration.nix (the
 * install), or the vm-hardware.nix text kept with an installed system (a rebuild of it).
 */
export function harnessFiles(o: HarnessOptions & { host: string; vmHardware: HardwareConfig | string }): Injected[] {
  return [
    { file: `${GUEST_FLAKE}/flake.nix`, content: wrapperFlake(o.host), settings: [`nixosConfigurations.${o.host} = <the configuration under test>.extendModules { modules = [ ./harness.nix ./vm-hardware.nix ]; }`] },
    harnessModule({ sshPublicKey: o.sshPublicKey, password: o.password, generation: o.generation }),
    typeof o.vmHardware === 'string' ? { file: `${GUEST_FLAKE}/vm-hardware.nix`, content: o.vmHardware, settings: [] } : vmHardwareModule(o.vmHardware),
  ];
}

/** What writeHarness needs of a Machine. */
export interface CopiesIn {
  copyIn(hostDir: string, guestDir: string, seconds?: number, files?: string[]): Promise<void>;
}

/**
 * Writes `files` (harnessFiles) into the guest's GUEST_FLAKE with m.copyIn, through a temporary
 * directory of this process's own (leftovers.ts) that is removed afterwards.
 */
export async function writeHarness(m: CopiesIn, files: Injected[], seconds = 120): Promise<void> {
  const dir = ownedTempDir('nixos-rehearse-harness-');
  try {
    for (const f of files) writeFileSync(path.join(dir, path.basename(f.file)), f.content);
    // The files written, not the directory: its owner tag (leftovers.ts) stays on the host.
    await m.copyIn(dir, GUEST_FLAKE, seconds, files.map((f) => path.basename(f.file)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
