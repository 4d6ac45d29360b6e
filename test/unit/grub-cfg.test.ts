import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GrubConfigError, directBootParams, installerEntry, parseGrubConfig } from '../../src/iso/grub-cfg.js';

// The real shape (nixpkgs iso-image.nix, rendered) and the fixture's template (vm/fixture/iso).
const real = readFileSync(new URL('../fixtures/grub/nixos-iso-image.cfg', import.meta.url), 'utf8');
const fixtureTemplate = readFileSync(new URL('../../vm/fixture/iso/grub.cfg', import.meta.url), 'utf8')
  .replaceAll('@KERNEL@', '/boot//nix/store/z5w8akxgjz5dcwavl52zp10gbhfhqrq1-linux-6.1.0-56/bzImage')
  .replaceAll('@INITRD@', '/boot//nix/store/zgm357yz04ppi2izr435jsfgi9pgm1pm-initrd-linux-6.1.0-56/initrd')
  .replaceAll('@PARAMS@', 'init=/nix/store/bmpchb8xczl6jgh4qqbkr5hxljv5nyk0-nixos-system-nixos-25.11.20261101.fa1ce0f/init root=LABEL=nixos-minimal-25.11-x86_64 boot.shell_on_fail')
  .replaceAll('@LABEL@', '25.11');

describe('grub.cfg of a NixOS installer ISO', () => {
  it('takes the first top-level entry of the real layout and drops ${isoboot}', () => {
    const e = installerEntry(real);
    expect(e.title).toBe('NixOS 25.11.20251102.abcdef0 Installer ');
    expect(e.classes).toEqual(['installer']);
    expect(e.kernel).toBe('/boot/bzImage');
    expect(e.initrds).toEqual(['/boot/initrd']);
    expect(e.params).toBe(
      'init=/nix/store/8m7yv0rq5l0sv3fg9d1w0j8yq1w5bqxa-nixos-system-nixos-25.11.20251102.abcdef0/init root=LABEL=nixos-minimal-25.11-x86_64 boot.shell_on_fail loglevel=4 lsm=landlock,yama,bpf',
    );
    expect(directBootParams(e)).toBe(`${e.params} console=ttyS0,115200n8`);
  });

  it('sees submenu entries as nested, and one-line blocks and hidden entries do not confuse it', () => {
    const all = parseGrubConfig(real);
    const serial = all.find((x) => x.params.includes('console=ttyS0,115200n8'));
    expect(serial?.submenus).toEqual(['HiDPI, Quirks and Accessibility', 'Serial console=ttyS0,115200n8']);
    expect(all.filter((x) => x.submenus.length === 0).map((x) => x.title)).toEqual([
      'NixOS 25.11.20251102.abcdef0 Installer ',
      'NixOS 25.11.20251102.abcdef0 Installer (nomodeset)',
      'NixOS 25.11.20251102.abcdef0 Installer (copytoram)',
      'Firmware Setup',
      'Shutdown',
    ]);
  });

  it('reads the fixture ISO the same way: LTS entry first, store paths with // collapsed', () => {
    const e = installerEntry(fixtureTemplate);
    expect(e.title).toBe('NixOS 25.11 Installer (Linux LTS)');
    expect(e.kernel).toBe('/boot/nix/store/z5w8akxgjz5dcwavl52zp10gbhfhqrq1-linux-6.1.0-56/bzImage');
    expect(e.initrds).toEqual(['/boot/nix/store/zgm357yz04ppi2izr435jsfgi9pgm1pm-initrd-linux-6.1.0-56/initrd']);
    expect(e.params).toMatch(/^init=\S+\/init root=LABEL=nixos-minimal-25\.11-x86_64 boot\.shell_on_fail loglevel=4$/);
    expect(directBootParams({ ...e, params: `${e.params} console=ttyS0,115200n8` })).toBe(`${e.params} console=ttyS0,115200n8`);
    const serial = parseGrubConfig(fixtureTemplate).find((x) => x.submenus.includes('Serial console=ttyS0,115200n8'));
    expect(serial?.submenus).toEqual(['Options', 'Serial console=ttyS0,115200n8']);
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
