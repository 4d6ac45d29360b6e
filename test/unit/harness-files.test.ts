// The wrapper flake's files, made and written in one place (src/runbook/harness.ts harnessFiles,
// writeHarness) for the install and for a rebuild of an installed system.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GUEST_FLAKE, HARNESS_FILE_NAMES, harnessFiles, harnessModule, vmHardwareModule, wrapperFlake, writeHarness } from '../../src/runbook/harness.js';
import { parseHardwareConfig } from '../../src/runbook/parsers.js';

const hwText = '{ fileSystems."/" = { device = "rpool/local/root"; fsType = "zfs"; }; fileSystems."/boot" = { device = "/dev/disk/by-uuid/AB-CD"; fsType = "vfat"; }; }';
const login = { sshPublicKey: 'ssh-ed25519 AAAAC3Nza test', password: 'pw-1234' };

describe('harnessFiles', () => {
  it('the install: flake.nix, harness.nix and vm-hardware.nix from the parsed hardware configuration', () => {
    const hw = parseHardwareConfig(hwText);
    const files = harnessFiles({ host: 'server', ...login, vmHardware: hw });
    expect(files.map((f) => f.file)).toEqual(HARNESS_FILE_NAMES.map((n) => `${GUEST_FLAKE}/${n}`));
    expect(files[0]!.content).toBe(wrapperFlake('server'));
    expect(files[0]!.settings[0]).toMatch(/^nixosConfigurations\.server = .*extendModules/);
    expect(files[1]).toEqual(harnessModule(login));
    expect(files[2]).toEqual(vmHardwareModule(hw));
  });
  it('a rebuild: the kept vm-hardware.nix text as it is, and the generation in harness.nix', () => {
    const files = harnessFiles({ host: 'web-01', ...login, generation: 2, vmHardware: '{ }\n' });
    expect(files[1]!.content).toBe(harnessModule({ ...login, generation: 2 }).content);
    expect(files[2]!.content).toBe('{ }\n');
  });
});

describe('writeHarness', () => {
  it('copies exactly the three files into GUEST_FLAKE, then removes its temporary directory', async () => {
    const files = harnessFiles({ host: 'server', ...login, vmHardware: '{ }\n' });
    const calls: { hostDir: string; guestDir: string; names?: string[]; contents: Record<string, string>; listing: string[] }[] = [];
    await writeHarness({
      async copyIn(hostDir, guestDir, _seconds, names) {
        const contents: Record<string, string> = {};
        for (const n of names ?? []) contents[n] = readFileSync(`${hostDir}/${n}`, 'utf8');
        calls.push({ hostDir, guestDir, names, contents, listing: readdirSync(hostDir) });
      },
    }, files);
    expect(calls).toHaveLength(1);
    const c = calls[0]!;
    expect(c.guestDir).toBe(GUEST_FLAKE);
    expect(c.names).toEqual([...HARNESS_FILE_NAMES]);
    expect(c.contents['flake.nix']).toBe(files[0]!.content);
    expect(c.contents['harness.nix']).toBe(files[1]!.content);
    expect(c.contents['vm-hardware.nix']).toBe('{ }\n');
    expect(existsSync(c.hostDir)).toBe(false);
  });
  it('removes its temporary directory when the copy fails', async () => {
    let dir = '';
    await expect(writeHarness({ async copyIn(hostDir) { dir = hostDir; throw new Error('guest gone'); } }, harnessFiles({ host: 'server', ...login, vmHardware: '{ }\n' }))).rejects.toThrow('guest gone');
    expect(dir).not.toBe('');
    expect(existsSync(dir)).toBe(false);
  });
});
