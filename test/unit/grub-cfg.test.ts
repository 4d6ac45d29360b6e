import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GrubConfigError, directBootParams, installerEntry, parseGrubConfig } from '../../src/iso/grub-cfg.js';

// The real shape (nixpkgs 25.11 iso-image.nix with installation-cd-minimal-combined.nix,
// rendered) and the fixture's template (vm/fixture/iso), filled in as build-fixture.mjs does.
const real = readFileSync(new URL('../fixtures/grub/nixos-iso-image.cfg', import.meta.url), 'utf8');
const fixtureTemplate = readFileSync(new URL('../../vm/fixture/iso/grub.cfg', import.meta.url), 'utf8')
  .replaceAll('@KERNEL@', '/boot//nix/store/z5w8akxgjz5dcwavl52zp10gbhfhqrq1-linux-6.1.0-56/bzImage')
  .replaceAll('@INITRD@', '/boot//nix/store/zgm357yz04ppi2izr435jsfgi9pgm1pm-initrd-linux-6.1.0-56/initrd')
  .replaceAll('@TOPLEVEL@', '/nix/store/bmpchb8xczl6jgh4qqbkr5hxljv5nyk0-nixos-system-nixos-25.11.20261101.fa1ce0f')
  .replaceAll('@PARAMS@', 'boot.shell_on_fail root=LABEL=nixos-minimal-25.11-x86_64 loglevel=4')
  .replaceAll('@LATEST_KERNEL_VERSION@', '6.1.158')
  .replaceAll('@LABEL@', '25.11.20261101.fa1ce0f');

describe('grub.cfg of a NixOS installer ISO', () => {
  it('takes the first top-level entry of the 25.11 layout, (Linux LTS), and drops ${isoboot}', () => {
    const e = installerEntry(real);
    expect(e.title).toBe('NixOS 25.11.20251102.abcdef0 Installer (Linux LTS)');
    expect(e.classes).toEqual(['installer']);
    expect(e.kernel).toBe('/boot/nix/store/3k7w2fmrh1x3z8jz2q9l0b5d6c4v8n1a-linux-6.12.57/bzImage');
    expect(e.initrds).toEqual(['/boot/nix/store/9q2p5s8d1f4g7h0j3k6l9z2x5c8v1b4n-initrd-linux-6.12.57/initrd']);
    expect(e.params).toBe(
      'init=/nix/store/8m7yv0rq5l0sv3fg9d1w0j8yq1w5bqxa-nixos-system-nixos-25.11.20251102.abcdef0/init boot.shell_on_fail root=LABEL=nixos-minimal-25.11-x86_64 loglevel=4 lsm=landlock,yama,bpf',
    );
    expect(directBootParams(e)).toBe(`${e.params} console=ttyS0,115200n8`);
  });

  it('sees the latest_kernel specialisation after it, and every variant under submenu "Options" for both', () => {
    const all = parseGrubConfig(real);
    expect(all.filter((x) => x.submenus.length === 0).map((x) => x.title)).toEqual([
      'NixOS 25.11.20251102.abcdef0 Installer (Linux LTS)',
      'NixOS 25.11.20251102.abcdef0 Installer (Linux 6.17.7)',
      'rEFInd',
      'Firmware Setup',
      'Shutdown',
    ]);
    const latest = all.find((x) => x.title.endsWith('(Linux 6.17.7)') && !x.submenus.length)!;
    expect(latest.kernel).toMatch(/-linux-6\.17\.7\/bzImage$/);
    expect(latest.params).not.toBe(installerEntry(real).params); // its own toplevel
    const serial = all.filter((x) => x.params.includes('console=ttyS0,115200n8'));
    expect(serial.map((x) => [x.submenus, x.title])).toEqual([
      [['Options', 'Serial console=ttyS0,115200n8'], 'NixOS 25.11.20251102.abcdef0 Installer (Linux LTS)'],
      [['Options', 'Serial console=ttyS0,115200n8'], 'NixOS 25.11.20251102.abcdef0 Installer (Linux 6.17.7)'],
    ]);
    expect(new Set(all.filter((x) => x.submenus[0] === 'Options').map((x) => x.submenus[1]))).toEqual(
      new Set([
        'Copy ISO Files to RAM',
        'No modesetting',
        'Debug Console Output',
        'Disable display-manager',
        'Rotate framebuffer Clockwise',
        'Rotate framebuffer Upside-Down',
        'Rotate framebuffer Counter-Clockwise',
        'Serial console=ttyS0,115200n8',
      ]),
    );
  });

  it('reads the fixture ISO the same way and its menu has the real one\'s shape: titles with the version', () => {
    const e = installerEntry(fixtureTemplate);
    expect(e.title).toBe('NixOS 25.11.20261101.fa1ce0f Installer (Linux LTS)');
    expect(e.kernel).toBe('/boot/nix/store/z5w8akxgjz5dcwavl52zp10gbhfhqrq1-linux-6.1.0-56/bzImage');
    expect(e.initrds).toEqual(['/boot/nix/store/zgm357yz04ppi2izr435jsfgi9pgm1pm-initrd-linux-6.1.0-56/initrd']);
    expect(e.params).toBe(
      'init=/nix/store/bmpchb8xczl6jgh4qqbkr5hxljv5nyk0-nixos-system-nixos-25.11.20261101.fa1ce0f/init boot.shell_on_fail root=LABEL=nixos-minimal-25.11-x86_64 loglevel=4',
    );
    const shape = (t: string) =>
      parseGrubConfig(t)
        .filter((x) => x.title !== 'rEFInd')
        .map((x) => [x.submenus.join(' > '), x.title.replace(/\d+\.\d+\.\d{8}\.\w+/, 'LABEL').replace(/\(Linux \d[\d.]*\)/, '(Linux LATEST)'), x.classes]);
    expect(shape(fixtureTemplate)).toEqual(shape(real));
    const latest = parseGrubConfig(fixtureTemplate)[1]!;
    expect(latest.title).toBe('NixOS 25.11.20261101.fa1ce0f Installer (Linux 6.1.158)');
    expect(latest.params.split(' ')).toContain('rehearse.no_zfs');
  });

  it('refuses what it cannot boot, saying why', () => {
    expect(() => installerEntry('set timeout=10\n')).toThrow(/no top-level menuentry with a 'linux' line/);
    expect(() => installerEntry("menuentry 'x' {\n linux /boot/bzImage quiet\n initrd /boot/initrd\n}\n")).toThrow(/no init= parameter/);
    expect(() => installerEntry("menuentry 'x' {\n linux /boot/bzImage init=/x/init\n}\n")).toThrow(/has no initrd line/);
    expect(() => installerEntry("menuentry 'x' {\n linux /boot/bzImage init=/x/init ${extra}\n initrd /i\n}\n")).toThrow(/GRUB variable/);
    expect(() => parseGrubConfig("menuentry 'x' {\n linux /k\n")).toThrow(GrubConfigError);
    expect(() => parseGrubConfig('}\n')).toThrow(/without an open block/);
  });
});
