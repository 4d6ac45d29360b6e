// The post-boot checks: each parser against real output formats, and each check shown red and
// green (a check that cannot fail is a defect). Sources: the runbook's transcripts
// (../shared/seed/nixos-25.11-install-runbook.txt) and outputs recorded on the fixture's
// installed system (test/fixtures/verify/*.fixture.*).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  checkBootEntries,
  checkBootTime,
  checkBootedSystem,
  checkClosureSize,
  checkEfiBootEntry,
  checkFailedUnits,
  checkBtrfsHealth,
  checkExt4Health,
  checkGenerations,
  checkPasswordRefused,
  checkPoolHealth,
  checkSecretsNotInStore,
  checkSshLogin,
  checkSshd,
  checkVmNetwork,
} from '../../src/verify/checks.js';
import { failedUnitsUnread, parseAnalyzeTime, parseBlame, parseBootctlList, parseEfiVars, parseFailedUnits, parseGenerations, parseGenerationsJson, parseIpAddrJson, parseLoaderVar, parsePathInfoSize, parseTimespan } from '../../src/verify/parsers.js';
import { VM_NIC } from '../../src/qemu/spec.js';

const rb = (name: string) => readFileSync(new URL(`../fixtures/runbook/${name}`, import.meta.url), 'utf8');
const vf = (name: string) => readFileSync(new URL(`../fixtures/verify/${name}`, import.meta.url), 'utf8');
const TOP = '/nix/store/8m7yv0rq5l0sv3fg9d1w0j8yq1w5bqxa-nixos-system-server-25.11.20260205.abcdef0';

describe('verify parsers', () => {
  it('reads nix-env generations (runbook Task 14 and nix-env.cc format, trailing spaces included)', () => {
    expect(parseGenerations('   1   2026-02-05 00:12:33   (current)\n')).toEqual([{ number: 1, date: '2026-02-05 00:12:33', current: true }]);
    expect(parseGenerations('   1   2026-02-05 00:12:33   \n   2   2026-02-06 10:00:01   (current)\n').map((g) => [g.number, g.current])).toEqual([[1, false], [2, true]]);
  });

  it('reads nixos-rebuild list-generations --json (nixos-rebuild-ng nix.py GenerationJson, newest first)', () => {
    const out = JSON.stringify([
      { generation: 2, date: '2026-11-25 08:31:02', nixosVersion: '25.11.20261101.fa1ce0f', kernelVersion: '6.1.0-56', configurationRevision: '', specialisations: [], current: true },
      { generation: 1, date: '2026-11-25 08:29:40', nixosVersion: '25.11.20261101.fa1ce0f', kernelVersion: '6.1.0-56', configurationRevision: '', specialisations: [], current: false },
    ], null, 2);
    expect(parseGenerationsJson(out).map((g) => [g.generation, g.current])).toEqual([[2, true], [1, false]]);
    expect(() => parseGenerationsJson('{}')).toThrow(/did not print an array/);
  });

  it('reads systemd-boot\'s LoaderEntrySelected (4 attribute bytes, then UCS-2)', () => {
    const b64 = Buffer.concat([Buffer.from([6, 0, 0, 0]), Buffer.from('nixos-generation-1.conf\0', 'utf16le')]).toString('base64');
    expect(parseLoaderVar(b64)).toBe('nixos-generation-1.conf');
  });

  it('reads systemd timespans the way format_timespan writes them', () => {
    expect(parseTimespan('1min 2.345s')).toBe(62345);
    expect(parseTimespan('850ms')).toBe(850);
    expect(parseTimespan('1h 2min 3s')).toBe(3723000);
    expect(parseTimespan('123us')).toBe(0.123);
    expect(() => parseTimespan('soon')).toThrow(/not a systemd timespan/);
  });

  it('reads systemd-analyze time and blame as recorded on the fixture', () => {
    const t = parseAnalyzeTime(vf('systemd-analyze-time.fixture.txt'));
    expect(t.totalMs).toBeGreaterThan(0);
    expect(Object.keys(t.phases)).toEqual(expect.arrayContaining(['kernel', 'userspace']));
    expect(t.target).toMatch(/\.target$/);
    const b = parseBlame(vf('systemd-analyze-blame.fixture.txt'));
    expect(b.length).toBeGreaterThan(3);
    expect(b[0]!.ms).toBeGreaterThanOrEqual(b[1]!.ms);
  });

  it('reads systemctl --failed, bootctl list --json and the EFI variables as recorded on the fixture', () => {
    expect(parseFailedUnits('● nginx.service loaded failed failed Nginx Web Server\n')).toEqual([{ unit: 'nginx.service', load: 'loaded', active: 'failed', sub: 'failed', description: 'Nginx Web Server' }]);
    expect(parseFailedUnits('')).toEqual([]);
    // With the legend, as the runbook's playbook runs it (older "=" and newer "Legend: … →" forms).
    const legend = '  UNIT                     LOAD   ACTIVE SUB    DESCRIPTION\n● nginx.service             loaded failed failed Nginx Web Server\n\nLOAD   = Reflects whether the unit definition was properly loaded.\nACTIVE = The high-level unit activation state, i.e. generalization of SUB.\nSUB    = The low-level unit activation state, values depend on unit type.\n\n1 loaded units listed.\n';
    expect(parseFailedUnits(legend).map((u) => u.unit)).toEqual(['nginx.service']);
    expect(failedUnitsUnread(legend)).toEqual([]);
    expect(failedUnitsUnread('Legend: LOAD   → Reflects whether the unit definition was properly loaded.\n        ACTIVE → The high-level unit activation state, i.e. generalization of SUB.\n')).toEqual([]);
    // What is neither a unit nor the legend is not "no failed units".
    expect(failedUnitsUnread('Failed to connect to bus: No such file or directory\n')).toEqual(['Failed to connect to bus: No such file or directory']);
    const entries = parseBootctlList(vf('bootctl-list.fixture.json'));
    expect(entries.map((e) => e.id)).toContain('nixos-generation-1.conf');
    const efi = parseEfiVars(vf('efivars.fixture.txt'));
    expect(efi.current).toMatch(/^[0-9A-F]{4}$/);
    const linux = efi.entries.find((e) => e.label === 'Linux Boot Manager')!;
    expect(linux.file).toBe('\\EFI\\systemd\\systemd-bootx64.efi');
    expect(linux.partuuid).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('reads nix path-info -Sh sizes', () => {
    expect(parsePathInfoSize(`${TOP}\t   1.2 GiB\n`)).toEqual({ path: TOP, bytes: Math.round(1.2 * 1024 ** 3), text: '1.2 GiB' });
    expect(parsePathInfoSize(`${TOP}\t 290.4 MiB`).bytes).toBe(Math.round(290.4 * 1024 ** 2));
  });
});

describe('each check turns red on bad evidence and green on good', () => {
  it('booted-system', () => {
    expect(checkBootedSystem(TOP, TOP, TOP).status).toBe('pass');
    expect(checkBootedSystem(TOP, `${TOP}x`, TOP).status).toBe('fail');
    expect(checkBootedSystem(TOP, TOP, `${TOP}x`).summary).toBe('/run/booted-system is not the installed system');
  });

  it('boot-entries', () => {
    const e = [{ id: 'nixos-generation-1.conf' }];
    expect(checkBootEntries(e, 'timeout 5\ndefault nixos-generation-1.conf\n', '', 'nixos-generation-1.conf').status).toBe('pass');
    expect(checkBootEntries([], 'default nixos-generation-1.conf\n', '', 'nixos-generation-1.conf').summary).toMatch(/no boot entry/);
    expect(checkBootEntries(e, 'default nixos-generation-2.conf\n', '', 'nixos-generation-1.conf').summary).toMatch(/default is nixos-generation-2\.conf/);
  });

  it('generations', () => {
    expect(checkGenerations('   1   2026-02-05 00:12:33   (current)\n', 1).status).toBe('pass');
    expect(checkGenerations('   1   2026-02-05 00:12:33   (current)\n', 2).summary).toBe('generation 1 is current, expected 2');
    expect(checkGenerations('', 1).status).toBe('fail');
  });

  it('pool-health judges the text of zpool status -x, not its exit code (DEGRADED from the runbook)', () => {
    expect(checkPoolHealth('all pools are healthy\n').status).toBe('pass');
    const bad = checkPoolHealth(rb('zpool-status-degraded.runbook.txt'));
    expect(bad.status).toBe('fail');
    expect(bad.summary).toContain('nvme1n1p2 is UNAVAIL (cannot open)');
    expect(checkPoolHealth('no pools available\n').summary).toBe('no pool is imported');
  });

  it('pool-health on ext4 and btrfs reads the file system instead', () => {
    expect(checkExt4Health('Filesystem state:         clean\n', 0).status).toBe('pass');
    expect(checkExt4Health('Filesystem state:         not clean with errors\n', 0).status).toBe('fail');
    const stats = '[/dev/nvme0n1p2].write_io_errs    0\n[/dev/nvme0n1p2].read_io_errs     0\n[/dev/nvme0n1p2].corruption_errs  0\n';
    expect(checkBtrfsHealth(stats, 0).status).toBe('pass');
    expect(checkBtrfsHealth(stats.replace('corruption_errs  0', 'corruption_errs  2'), 0).status).toBe('fail');
  });

  it('boot-time gives figures and fails on output it cannot read', () => {
    const c = checkBootTime(vf('systemd-analyze-time.fixture.txt'), vf('systemd-analyze-blame.fixture.txt'));
    expect(c.status).toBe('pass');
    expect(c.figures?.totalMs).toBeGreaterThan(0);
    expect(checkBootTime('Bootup is not yet finished.', '').status).toBe('fail');
  });

  it('failed-units (the runbook diagnosis playbook\'s nginx example)', () => {
    expect(checkFailedUnits('').status).toBe('pass');
    const bad = checkFailedUnits('● nginx.service loaded failed failed Nginx Web Server\n');
    expect(bad.status).toBe('fail');
    expect(bad.summary).toBe('1 failed unit(s): nginx.service');
  });

  it('sshd: active (running), not inactive', () => {
    expect(checkSshd('ActiveState=active\nSubState=running\n').status).toBe('pass');
    expect(checkSshd('ActiveState=inactive\nSubState=dead\n').summary).toBe('sshd is inactive (dead)');
  });

  it('ssh-login and password-login-refused', () => {
    expect(checkSshLogin(0, 'rehearse@server\n', '', 'rehearse', 'server').status).toBe('pass');
    expect(checkSshLogin(255, '', 'rehearse@127.0.0.1: Permission denied (publickey).', 'rehearse', 'server').status).toBe('fail');
    // Refusal is proven by trying: an offered keyboard-interactive that lets no password in is
    // NixOS's default (sshd.nix KbdInteractiveAuthentication = true) and passes.
    const refused = checkPasswordRefused({ user: 'rehearse', marker: 'password-login-0a1b2c', stdout: '', exitCode: 255, stderr: 'rehearse@127.0.0.1: Permission denied (publickey,keyboard-interactive).\n' });
    expect(refused.status).toBe('pass');
    expect(refused.summary).toBe('a password login as rehearse (who has a password) was refused; the server offers: publickey,keyboard-interactive');
    expect(checkPasswordRefused({ user: 'rehearse', marker: 'password-login-0a1b2c', exitCode: 0, stdout: 'password-login-0a1b2c\n', stderr: '' }).summary).toBe('a password login as rehearse got in');
    // exit 0 without the marker is not a login that got in (a wrapper printing nothing), nor a refusal.
    expect(checkPasswordRefused({ user: 'rehearse', marker: 'password-login-0a1b2c', stdout: '', exitCode: 0, stderr: '' }).status).toBe('fail');
    expect(checkPasswordRefused({ user: 'rehearse', marker: 'password-login-0a1b2c', stdout: '', exitCode: 255, stderr: 'ssh: connect to host 127.0.0.1 port 40022: Connection timed out\n' }).summary).toBe('could not try a password login: ssh: connect to host 127.0.0.1 port 40022: Connection timed out');
  });

  it('efi-boot-entry: the installed ESP\'s loader, not the removable fallback', () => {
    const dump = vf('efivars.fixture.txt');
    const efi = parseEfiVars(dump);
    const linux = efi.entries.find((e) => e.label === 'Linux Boot Manager')!;
    expect(checkEfiBootEntry(dump, [linux.partuuid!]).status).toBe(efi.current === linux.num ? 'pass' : 'fail');
    expect(checkEfiBootEntry(dump, ['00000000-0000-0000-0000-000000000000']).summary).toBe('no firmware boot entry points at systemd-boot on the installed ESP');
    // BootCurrent moved to another entry (e.g. the disk's auto entry, which runs \EFI\BOOT\BOOTX64.EFI).
    const other = efi.entries.find((e) => e.num !== linux.num)!;
    const moved = dump.replace(/^(BootCurrent-\S+) \S+$/m, (_, n) => `${n} ${Buffer.concat([Buffer.from([6, 0, 0, 0]), Buffer.from([parseInt(other.num.slice(2), 16), parseInt(other.num.slice(0, 2), 16)])]).toString('base64')}`);
    const c = checkEfiBootEntry(moved, [linux.partuuid!]);
    expect(c.status).toBe('fail');
    expect(c.summary).toMatch(/^booted through .*, not the installed entry Boot/);
  });

  it('closure-size and secrets-not-in-store', () => {
    expect(checkClosureSize(`${TOP}\t 290.4 MiB\n`).summary).toBe('closure of the running system: 290.4 MiB');
    expect(checkClosureSize('error: path is not valid').status).toBe('fail');
    expect(checkSecretsNotInStore(1, '').status).toBe('pass');
    expect(checkSecretsNotInStore(0, '/nix/store/abc-source/secrets.env\n').summary).toMatch(/a secret appears in the store: \/nix\/store\/abc-source\/secrets\.env/);
    expect(checkSecretsNotInStore(2, 'grep: error').status).toBe('fail');
  });
});

describe('vm-network: QEMU’s NIC found by its MAC, with the harness’s address', () => {
  const vf2 = (n: string) => readFileSync(new URL(`../fixtures/verify/${n}`, import.meta.url), 'utf8');
  it('reads iproute2’s JSON as the guest printed it', () => {
    expect(parseIpAddrJson(vf2('ip-addr.installer-dhcp.json'))).toEqual([
      { name: 'lo', state: 'UNKNOWN', mac: '00:00:00:00:00:00', inet: ['127.0.0.1/8'] },
      { name: 'enp0s1', state: 'UP', mac: '52:54:00:12:34:56', inet: ['10.0.2.15/24'] },
    ]);
  });
  it('passes whatever udev named the NIC, fails with what it has when the address is missing', () => {
    expect(checkVmNetwork(vf2('ip-addr.rehearse0.json'), VM_NIC).summary).toBe("QEMU's NIC rehearse0 (MAC 52:54:00:12:34:56) has 10.0.2.15/24");
    expect(checkVmNetwork(vf2('ip-addr.installer-dhcp.json'), VM_NIC).status).toBe('pass');
    expect(checkVmNetwork(vf2('ip-addr.no-address.json'), VM_NIC).summary).toBe("QEMU's NIC enp0s1 (MAC 52:54:00:12:34:56, DOWN) does not have 10.0.2.15/24: it has no IPv4 address");
    expect(checkVmNetwork('bash: ip: command not found', VM_NIC).summary).toMatch(/^could not read the output: not ip -j addr output/);
  });
});
