// What the rehearsal adds to the configuration under test, rendered as Nix files, pure.
//
// The user's flake is not edited. A wrapper flake takes it as a `path:` input and extends its
// host with two modules (NixOS `extendModules`, nixpkgs lib/modules.nix):
//   harness.nix      the VM's needs: serial console, host id (only as a default), a login for
//                    the per-run SSH key, serial autologin for the engine
//   vm-hardware.nix  the file systems nixos-generate-config found on the VM's disks, forced
//                    over the real machine's hardware-configuration.nix (which names disks the
//                    VM does not have)
// The report lists every file and setting injected (Report.injected).
import type { Injected } from '../report.js';
import type { HardwareConfig } from './parsers.js';

export const GUEST_DIR = '/tmp/rehearse';
export const GUEST_CONFIG = `${GUEST_DIR}/config`;
export const GUEST_FLAKE = `${GUEST_DIR}/flake`;
/** The user the per-run SSH key logs in as (the configuration's own users are left alone). */
export const REHEARSE_USER = 'rehearse';
/** The NixOS installer's host id (nixpkgs profiles/base.nix): a pool created there imports without -f. */
export const INSTALLER_HOST_ID = '8425e349';

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
  zfs: boolean;
  /** The generation this harness builds (1 for the install): the rebuild's known, visible change. */
  generation?: number;
}

export function harnessModule(o: HarnessOptions): Injected {
  const settings = [
    'boot.kernelParams += [ "console=ttyS0,115200n8" ]: a login and the boot log on the serial console the rehearsal reads',
    'services.getty.autologinUser = "root" (forced): the engine logs in on the serial console after reboot',
    `users.users.${REHEARSE_USER}: a normal user holding this run's SSH public key (its private key never leaves the host)`,
    `environment.etc."nixos-rehearse/generation".text = "${o.generation ?? 1}": the known change a rebuild makes visible`,
  ];
  const lines = [
    '# Added by nixos-rehearse for the rehearsal VM only (see report.json "injected").',
    '{ lib, ... }:',
    '{',
    '  boot.kernelParams = [ "console=ttyS0,115200n8" ];',
    '  services.getty.autologinUser = lib.mkForce "root";',
    `  users.users.${REHEARSE_USER} = {`,
    '    isNormalUser = true;',
    `    openssh.authorizedKeys.keys = [ ${nixString(o.sshPublicKey.trim())} ];`,
    '  };',
    `  environment.etc."nixos-rehearse/generation".text = "${o.generation ?? 1}";`,
  ];
  if (o.zfs) {
    lines.push(`  networking.hostId = lib.mkDefault ${nixString(INSTALLER_HOST_ID)};`);
    settings.push(`networking.hostId = lib.mkDefault "${INSTALLER_HOST_ID}": ZFS needs one; the configuration's own value wins`);
  }
  lines.push('}', '');
  return { file: `${GUEST_FLAKE}/harness.nix`, content: lines.join('\n'), settings };
}

/** The VM's file systems, from the hardware-configuration.nix nixos-generate-config wrote in the VM. */
export function vmHardwareModule(hw: HardwareConfig): Injected {
  const mps = Object.keys(hw.fileSystems).sort((a, b) => a.length - b.length || a.localeCompare(b));
  const lines = [
    '# Added by nixos-rehearse: the file systems on the rehearsal VM\'s disks (from',
    '# nixos-generate-config --root /mnt), replacing the real machine\'s.',
    '{ lib, ... }:',
    '{',
    '  fileSystems = lib.mkForce {',
  ];
  for (const mp of mps) {
    const f = hw.fileSystems[mp]!;
    const opts = f.options.length ? ` options = [ ${f.options.map(nixString).join(' ')} ];` : '';
    lines.push(`    ${nixString(mp)} = { device = ${nixString(f.device ?? '')}; fsType = ${nixString(f.fsType ?? '')};${opts} };`);
  }
  lines.push('  };', '  swapDevices = lib.mkForce [ ];', '}', '');
  return {
    file: `${GUEST_FLAKE}/vm-hardware.nix`,
    content: lines.join('\n'),
    settings: [`fileSystems (forced): ${mps.map((m) => `${m} = ${hw.fileSystems[m]!.device}`).join(', ')}`, 'swapDevices = [ ] (forced)'],
  };
}
