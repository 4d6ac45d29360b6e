import { describe, expect, it } from 'vitest';
import { FirmwareNotFoundError, classifyPair, findFirmware, firmwareCandidates } from '../../src/qemu/firmware.js';

// Sizes of the real files in Debian 12's ovmf 2022.11 package.
const DEBIAN: Record<string, number> = {
  '/usr/share/OVMF/OVMF_CODE_4M.fd': 3653632,
  '/usr/share/OVMF/OVMF_VARS_4M.fd': 540672,
  '/usr/share/OVMF/OVMF_CODE.fd': 1966080,
  '/usr/share/OVMF/OVMF_VARS.fd': 131072,
};
const fs = (files: Record<string, number>) => (p: string) => files[p];

describe('firmware discovery', () => {
  it('prefers the Debian/Ubuntu 4M pair', () => {
    const fw = findFirmware(firmwareCandidates({}), fs(DEBIAN));
    expect(fw).toMatchObject({ code: '/usr/share/OVMF/OVMF_CODE_4M.fd', vars: '/usr/share/OVMF/OVMF_VARS_4M.fd', flash: '4m' });
  });

  it('finds Fedora, Arch and Nix layouts', () => {
    expect(findFirmware(firmwareCandidates({}), fs({ '/usr/share/edk2/ovmf/OVMF_CODE.fd': 3653632, '/usr/share/edk2/ovmf/OVMF_VARS.fd': 540672 })).source).toMatch(/Fedora/);
    expect(findFirmware(firmwareCandidates({}), fs({ '/usr/share/edk2/x64/OVMF_CODE.4m.fd': 3653632, '/usr/share/edk2/x64/OVMF_VARS.4m.fd': 540672 })).source).toMatch(/Arch/);
    const nix = findFirmware(firmwareCandidates({ OVMF: '/nix/store/abc-OVMF-fd' }), fs({ '/nix/store/abc-OVMF-fd/FV/OVMF_CODE.fd': 3653632, '/nix/store/abc-OVMF-fd/FV/OVMF_VARS.fd': 540672 }));
    expect(nix.code).toBe('/nix/store/abc-OVMF-fd/FV/OVMF_CODE.fd');
  });

  it('never pairs a 4M code file with a 2M vars file', () => {
    expect(classifyPair(3653632, 131072)).toHaveProperty('error');
    expect(classifyPair(1966080, 131072)).toEqual({ flash: '2m' });
    const mixed = firmwareCandidates({ NIXOS_REHEARSE_OVMF_CODE: '/x/code4m.fd', NIXOS_REHEARSE_OVMF_VARS: '/x/vars2m.fd' });
    // The mismatched override is skipped, and the reason is kept for the error message.
    const fw = findFirmware(mixed, fs({ '/x/code4m.fd': 3653632, '/x/vars2m.fd': 131072, ...DEBIAN }));
    expect(fw.code).toBe('/usr/share/OVMF/OVMF_CODE_4M.fd');
    try {
      findFirmware(mixed, fs({ '/x/code4m.fd': 3653632, '/x/vars2m.fd': 131072 }));
      expect.unreachable();
    } catch (e) {
      expect(String(e)).toMatch(/code is a 4M build but vars is a 2M build/);
    }
  });

  it('names every place it looked and the package to install', () => {
    try {
      findFirmware(firmwareCandidates({}, ['/opt/qemu/share/qemu']), fs({}));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(FirmwareNotFoundError);
      const msg = String((e as Error).message);
      for (const p of ['/usr/share/OVMF/OVMF_CODE_4M.fd', '/usr/share/edk2/ovmf/OVMF_CODE.fd', '/usr/share/edk2/x64/OVMF_CODE.4m.fd', '/opt/qemu/share/qemu/edk2-x86_64-code.fd']) {
        expect(msg).toContain(p);
      }
      expect(msg).toContain('sudo apt-get install ovmf');
      expect(msg).toContain('edk2-ovmf');
    }
  });
});
