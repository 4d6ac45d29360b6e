// The fixture's NixOS stand-ins, run here on the host (no VM): the fixture's nixpkgs evaluated by
// the real Nix over a configuration written as people write one for a real server plus the
// harness's module, the systemd-boot builder's ESP check and the stage-1 failure text. Each
// follows a nixpkgs source named in the file it tests.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { layoutOf, nixPath, requireNix, system } from '../helpers/fixture-nix.js';

const fixture = path.resolve('vm/fixture');
const lib = path.join(fixture, 'rootfs/usr/lib/nixos-fixture');

beforeAll(requireNix);

/** The generation of the demo configuration (or `base`'s) extended with `harness`, as the engine does. */
function evalWith(harness: string, base = path.join(fixture, 'flake')): { read: (f: string) => string; exists: (f: string) => boolean } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fixture-eval-'));
  writeFileSync(path.join(dir, 'harness.nix'), `{ lib, ... }:\n{\n${harness}\n}\n`);
  const layout = layoutOf(
    system({ modules: [nixPath(`${base}/configuration.nix`), nixPath(`${base}/hardware-configuration.nix`)], extend: [nixPath(`${dir}/harness.nix`)] }),
  );
  const key = (f: string) => (['users', 'config.env', 'fs-needed-for-boot'].includes(f) ? `fixture/${f}` : f);
  return {
    read: (f) => {
      const t = layout.files[key(f)];
      if (t === undefined) throw new Error(`${f} is not in the generation`);
      return t;
    },
    exists: (f) => key(f) in layout.files,
  };
}

const harness = `
  fileSystems."/persist" = { device = lib.mkForce "rpool/safe/persist"; fsType = lib.mkForce "zfs"; options = lib.mkForce [ "zfsutil" ]; };
  fileSystems."/tmp" = { fsType = "tmpfs"; options = [ "mode=1777" ]; };
  fileSystems."/var/lib/app" = { device = "/persist/app"; options = [ "bind" ]; };
  users.users.rehearse = { isNormalUser = true; initialPassword = "per-run-secret"; openssh.authorizedKeys.keys = [ "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIRehearse rehearse" ]; };
  systemd.network.links."10-rehearse-nic" = { matchConfig.PermanentMACAddress = "52:54:00:12:34:56"; linkConfig.Name = "rehearse0"; };
  networking.interfaces.rehearse0.ipv4.addresses = [ { address = "10.0.2.15"; prefixLength = 24; } ];
`;

describe('the fixture\'s nixpkgs evaluates a real-server configuration as NixOS does', () => {
  const r = evalWith(harness);

  it('sshd: only PasswordAuthentication = false set leaves KbdInteractiveAuthentication on and PAM without pam_unix auth (sshd.nix, pam.nix)', () => {
    const conf = r.read('etc/ssh/sshd_config.d/nixos.conf');
    expect(conf).toContain('PasswordAuthentication no\n');
    expect(conf).toContain('KbdInteractiveAuthentication yes\n');
    expect(conf).toContain('PermitRootLogin prohibit-password\n');
    expect(conf).toContain('UsePAM yes\n');
    const pam = r.read('etc/pam.d/sshd');
    expect(pam).not.toMatch(/^auth .*pam_unix/m);
    expect(pam).toMatch(/^auth required pam_deny\.so$/m);
  });

  it('sshd: PasswordAuthentication = true puts pam_unix into the auth stack', () => {
    const open = evalWith(`${harness}\n  services.openssh.settings.PasswordAuthentication = lib.mkForce true;`);
    expect(open.read('etc/ssh/sshd_config.d/nixos.conf')).toContain('PasswordAuthentication yes\n');
    expect(open.read('etc/pam.d/sshd')).toMatch(/^auth sufficient pam_unix\.so likeauth try_first_pass\nauth required pam_deny\.so$/m);
  });

  it('users: hashedPassword and initialPassword are kept for activation (users-groups.nix)', () => {
    const users = r.read('users').trim().split('\n').map((l) => l.split('\t'));
    expect(users.find((u) => u[0] === 'admin')?.[1]).toMatch(/^\$6\$/);
    expect(users.find((u) => u[0] === 'rehearse')).toEqual(['rehearse', '-', '-', 'per-run-secret', '-']);
    expect(r.read('config.env')).toMatch(/^USERS='admin rehearse'$/m);
  });

  it('networking: DHCP off, the static NIC and the harness NIC exactly as configured, the .link file, the gateway only on its interface', () => {
    expect(r.exists('etc/systemd/network/99-main.network')).toBe(false);
    expect(r.read('etc/systemd/network/40-enp3s0.network')).toMatch(/Name=enp3s0\n[\s\S]*DHCP=no\n[\s\S]*Address=192\.168\.10\.20\/24\n/);
    expect(r.read('etc/systemd/network/40-rehearse0.network')).toMatch(/Name=rehearse0\n[\s\S]*DHCP=no\n[\s\S]*Address=10\.0\.2\.15\/24\n/);
    expect(r.read('etc/systemd/network/10-rehearse-nic.link')).toBe('[Match]\nPermanentMACAddress=52:54:00:12:34:56\n\n[Link]\nName=rehearse0\n');
    expect(r.read('etc/systemd/network/40-enp3s0.network')).toMatch(/\n\[Route\]\nGateway=192\.168\.10\.1\nGatewayOnLink=yes\n$/);
    expect(r.exists('etc/systemd/system/network-setup.service')).toBe(false);
  });

  it('networking: useDHCP defaults to true: DHCP for every interface not configured, not for one with static addresses (dhcpcd.nix)', () => {
    const base = mkdtempSync(path.join(os.tmpdir(), 'fixture-base-'));
    for (const f of ['flake.nix', 'hardware-configuration.nix']) writeFileSync(path.join(base, f), readFileSync(path.join(fixture, 'flake', f)));
    writeFileSync(
      path.join(base, 'configuration.nix'),
      readFileSync(path.join(fixture, 'flake/configuration.nix'), 'utf8').replace('networking.useDHCP = false;', ''),
    );
    const d = evalWith(harness, base);
    expect(d.read('etc/systemd/network/99-main.network')).toMatch(/DHCP=ipv4/);
    expect(d.read('etc/systemd/network/40-enp3s0.network')).toMatch(/DHCP=no/);
  });

  it('fileSystems: the forced attributes merge with neededForBoot; tmpfs and bind mounts are in fstab', () => {
    const fstab = r.read('etc/fstab');
    expect(fstab).toContain('rpool/safe/persist /persist zfs zfsutil 0 0\n');
    expect(fstab).toContain('tmpfs /tmp tmpfs mode=1777 0 0\n');
    expect(fstab).toContain('/persist/app /var/lib/app auto bind 0 0\n');
    expect(r.read('fs-needed-for-boot')).toBe('/nix\trpool/local/nix\tzfs\tdefaults\n/persist\trpool/safe/persist\tzfs\tzfsutil\n');
    expect(r.read('etc/nixos-fixture/fs-needed-for-boot')).toBe(r.read('fs-needed-for-boot'));
  });

  it('nix.conf: no experimental features unless nix.settings.experimental-features says so', () => {
    expect(r.read('etc/nix/nix.conf')).not.toMatch(/experimental-features/);
    const on = evalWith(`${harness}\n  nix.settings.experimental-features = [ "nix-command" "flakes" ];`);
    expect(on.read('etc/nix/nix.conf')).toMatch(/^experimental-features = nix-command flakes$/m);
  });
});

describe('systemd-boot-builder without a mounted ESP', () => {
  const bootMounted = spawnSync('findmnt', ['/boot']).status === 0;
  it.skipIf(bootMounted)('stops with checkMountpoints\' message (systemd-boot.nix) before touching anything', () => {
    const top = mkdtempSync(path.join(os.tmpdir(), 'fixture-top-'));
    mkdirSync(path.join(top, 'fixture'));
    writeFileSync(path.join(top, 'fixture/config.env'), "CAN_TOUCH_EFI_VARIABLES='1'\n");
    const r = spawnSync('sh', [path.join(lib, 'systemd-boot-builder'), top], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr.split('\n')[0]).toBe("efiSysMountPoint = '/boot' is not a mounted partition. Is the path configured correctly?");
    expect(r.stderr).toMatch(/subprocess\.CalledProcessError: Command '\['\/nix\/store\/\w{32}-check-mountpoints'\]' returned non-zero exit status 1\.\n$/);
  });
});

describe('the fixture initrd fails as stage-1-init.sh does', () => {
  const init = readFileSync(path.join(fixture, 'initrd/init'), 'utf8');
  it('prints fail()\'s text and waits for one key', () => {
    expect(init).toContain(
      "\nAn error occurred in stage 1 of the boot process, which must mount the\nroot filesystem on \\`$targetRoot' and then start stage 2.  Press one\nof the following keys:\n",
    );
    expect(init).toContain('  r) to reboot immediately\n  *) to ignore the error and continue\n');
    expect(init).toContain('read -n 1 reply');
    expect(init).not.toContain('<<< stage 1 failed');
  });
  it('says what stage 1 says before it: the device wait, the pool import', () => {
    expect(init).toContain("printf 'waiting for device %s to appear...'");
    expect(init).toContain('echo "Timed out waiting for device $(dev_path "$device"), trying to mount anyway."');
    expect(init).toContain(`printf 'importing root ZFS pool "%s"...' "$pool"`);
  });
});
