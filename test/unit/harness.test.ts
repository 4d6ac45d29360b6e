// What the rehearsal adds to the configuration under test (src/runbook/harness.ts): the VM's
// needs and nothing that would hide a mistake a real machine would show (issue 12, items 3, 4, 7, 8).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildQemuArgv } from '../../src/qemu/argv.js';
import { VM_NIC } from '../../src/qemu/spec.js';
import { REHEARSE_USER, VM_NIC_NAME, harnessModule, rehearsePassword, vmHardwareModule } from '../../src/runbook/harness.js';
import { parseHardwareConfig } from '../../src/runbook/parsers.js';
import { STEPS } from '../../src/runbook/plan.js';
import { layoutByName } from '../../src/runbook/layouts.js';
import { layoutOf, nixPath, requireNix, system } from '../helpers/fixture-nix.js';

const fx = (name: string) => readFileSync(new URL(`../fixtures/runbook/${name}`, import.meta.url), 'utf8');

function freshKey(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'harness-test-'));
  try {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'k')]);
    return readFileSync(path.join(dir, 'k'), 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const harness = (password = 'pw-1234') => harnessModule({ sshPublicKey: 'ssh-ed25519 AAAAC3Nza test', password }).content;

describe('harness.nix', () => {
  it('sets no networking.hostId: a ZFS configuration without one must fail as it would on the real machine', () => {
    expect(harness()).not.toMatch(/hostId/);
  });

  it('names the NIC with the MAC QEMU is given and addresses it on QEMU’s user network, touching no other interface', () => {
    const argv = buildQemuArgv({
      name: 'vm', memoryMiB: 4096, cpus: 2, accel: 'tcg', firmware: { code: '/c', vars: '/v' }, disks: [], sshHostPort: 2222,
      sockets: { serial: '/s', control: '/c2', qmp: '/q' },
    });
    const nic = argv.find((a) => a.startsWith('virtio-net-pci'))!;
    expect(nic).toContain(`mac=${VM_NIC.mac}`);
    expect(argv.find((a) => a.startsWith('user,'))).toContain(`hostfwd=tcp:127.0.0.1:2222-${VM_NIC.address}:22`);
    const h = harness();
    expect(h).toContain(`matchConfig.PermanentMACAddress = "${VM_NIC.mac}";`);
    expect(h).toContain(`linkConfig.Name = "${VM_NIC_NAME}";`);
    expect(h).toContain(`networking.interfaces.${VM_NIC_NAME}.ipv4.addresses = [ { address = "${VM_NIC.address}"; prefixLength = 24; } ];`);
    // The user's networking stays theirs: no DHCP switched on, no gateway, no other interface.
    expect(h).not.toMatch(/useDHCP|defaultGateway|nameservers|useNetworkd|networking\.interfaces\.(?!rehearse0)/);
  });

  it('gives the rehearse user a per-run password (so that refusing password logins is proven by trying one)', () => {
    const k1 = freshKey();
    const k2 = freshKey();
    expect(rehearsePassword(k1)).toBe(rehearsePassword(k1)); // a rebuild of a kept install writes the same
    expect(rehearsePassword(k1)).not.toBe(rehearsePassword(k2));
    expect(rehearsePassword(k1)).toMatch(/^[A-Za-z0-9_-]{24}$/);
    for (const line of k1.split('\n').filter((l) => l && !l.startsWith('-----'))) expect(rehearsePassword(k1)).not.toContain(line.slice(0, 24));
    const h = harness(rehearsePassword(k1));
    expect(h).toMatch(new RegExp(`users\\.users\\.${REHEARSE_USER} = \\{[^}]*initialPassword = "${rehearsePassword(k1)}";`, 's'));
  });
});

describe('vm-hardware.nix', () => {
  const hw = parseHardwareConfig(fx('hardware-configuration.runbook.nix'));
  const text = vmHardwareModule(hw).content;

  it('forces device, fsType and options of the VM’s mount points only, so neededForBoot and other mounts stay the user’s', () => {
    expect(text).not.toMatch(/fileSystems = lib\.mkForce/);
    expect(text).toContain(
      ['  fileSystems."/persist" = {', '    device = lib.mkForce "rpool/safe/persist";', '    fsType = lib.mkForce "zfs";', '    options = lib.mkForce [ "defaults" ];', '  };'].join('\n'),
    );
    expect(text.replace(/^#.*$/gm, '')).not.toMatch(/neededForBoot|tmpfs|bind/);
    expect([...text.matchAll(/^ {2}fileSystems\."([^"]+)"/gm)].map((m) => m[1])).toEqual(['/', '/nix', '/boot', '/persist']);
    expect(text).toContain('swapDevices = lib.mkForce [ ];');
  });

  it('keeps the options nixos-generate-config wrote (vfat masks), NixOS’s [ "defaults" ] where it wrote none', () => {
    const vfat = vmHardwareModule(
      parseHardwareConfig('{ fileSystems."/boot" = { device = "/dev/disk/by-uuid/AB-CD"; fsType = "vfat"; options = [ "fmask=0077" "dmask=0077" ]; }; }'),
    ).content;
    expect(vfat).toContain('options = lib.mkForce [ "fmask=0077" "dmask=0077" ];');
  });
});

describe('Task 11 preflight', () => {
  it('evaluates into the target’s store (/mnt), not the live ISO’s RAM-backed one, with nix-command enabled by itself', () => {
    const ctx = { layout: layoutByName('zfs'), serials: ['S0'], disks: ['/dev/nvme0n1'], flakeRef: '/tmp/rehearse/flake#server' };
    const [cmd] = STEPS.find((s) => s.id === 'task-11-preflight')!.commands(ctx);
    expect(cmd).toBe(
      `sudo nix --extra-experimental-features 'nix-command flakes' build --dry-run --no-link --store /mnt --extra-substituters 'auto?trusted=1' '/tmp/rehearse/flake#nixosConfigurations."server".config.system.build.toplevel'`,
    );
  });
});

describe('vm-hardware.nix on a layout with fewer disks than the configuration’s', () => {
  // An ext4 rehearsal of the runbook's ZFS configuration: nixos-generate-config found / and /boot.
  const hw = parseHardwareConfig(`{
  fileSystems."/" =
    { device = "/dev/disk/by-uuid/7d6cd668-7af3-4fd7-8ada-04c1143a69b2";
      fsType = "ext4";
    };
  fileSystems."/boot" =
    { device = "/dev/disk/by-uuid/5357-F852";
      fsType = "vfat";
      options = [ "fmask=0022" "dmask=0022" ];
    };
}`);
  const m = vmHardwareModule(hw);

  it('switches off the runbook mount points the VM has no disk for, with NixOS’s own enable', () => {
    expect(m.content).toContain('  fileSystems."/nix".enable = lib.mkForce false;\n  fileSystems."/persist".enable = lib.mkForce false;\n');
    expect(m.settings.join('\n')).toContain('enable = false (forced) for the runbook mount points this VM\'s layout has no disk for: /nix, /persist');
  });

  it('the fixture reads it as NixOS would: those mounts gone from fstab and stage 1, the VM’s root in their place', () => {
    requireNix();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vm-hardware-eval-'));
    try {
      writeFileSync(path.join(dir, 'vm-hardware.nix'), m.content);
      const files = layoutOf(system({ extend: [nixPath(path.join(dir, 'vm-hardware.nix'))] })).files;
      const fstab = files['etc/fstab']!;
      expect(fstab).toMatch(/7d6cd668-7af3-4fd7-8ada-04c1143a69b2 \/ ext4 defaults 0 1\n/);
      expect(fstab).not.toMatch(/rpool/);
      expect(files['fixture/fs-needed-for-boot']).not.toMatch(/\/nix|\/persist/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
