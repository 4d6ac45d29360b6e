// No false green: every check id the verify, rebuild and rollback phases can put in report.checks turns green on good evidence
// and red on the realistic failure (a DEGRADED pool, sshd inactive, a password accepted, a secret
// in the store, one boot entry left, the wrong generation booted…). A check that cannot fail is
// a defect. The list of ids is CHECK_IDS (src/verify/checks.ts); this file fails when an id is
// added without a case here, or when a phase emits an id or a verdict of its own.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  CHECK_IDS,
  type Check,
  type CheckId,
  checkBootEntriesOutput,
  checkBootTime,
  checkBootedSystem,
  checkClosureSize,
  checkDiskSpace,
  checkEfiBootEntry,
  checkEntriesRetained,
  checkFailedUnits,
  checkBtrfsHealth,
  checkExt4Health,
  checkGenerations,
  checkPasswordRefused,
  checkPoolHealth,
  checkRebuildBuild,
  checkRebuildSwitch,
  checkRollbackAtBoot,
  checkRollbackInPlace,
  leftoverFailedUnits,
  checkSecretsNotInStore,
  checkSshLogin,
  checkSshd,
  checkVmNetwork,
} from '../../src/verify/checks.js';
import { parseEfiVars } from '../../src/verify/parsers.js';

const vf = (name: string) => readFileSync(new URL(`../fixtures/verify/${name}`, import.meta.url), 'utf8');
const rb = (name: string) => readFileSync(new URL(`../fixtures/runbook/${name}`, import.meta.url), 'utf8');
/** A fixture run's `nixos-rebuild switch --rollback` after a pull request whose new service failed (faults.test.ts). */
const LEFTOVER = readFileSync(new URL('../fixtures/upgrade/rollback-leftover-failed-unit.txt', import.meta.url), 'utf8');
import { VM_NIC } from '../../src/qemu/spec.js';
import { type CheckEnv, POST_BOOT_CHECKS, checkDecision } from '../../src/verify/post-boot.js';
const src = (p: string) => readFileSync(new URL(`../../src/${p}`, import.meta.url), 'utf8');

// Store paths as the fixture's installed system printed them (report.json of a fixture run).
const GEN1 = '/nix/store/bhvf6b4nawdafvm5a68kk77pai2ybaiy-nixos-system-server-25.11.20261101.fa1ce0f';
const GEN2 = '/nix/store/q21lx2yj60ggkss09y5cwz7f5mha4rc1-nixos-system-server-25.11.20261101.fa1ce0f';
const LIST_GEN1 = vf('bootctl-list.fixture.json'); // generation 1 and the firmware-setup entry
const LIST_GEN12 = `${LIST_GEN1.split('\n')[0]!.replace(/nixos-generation-1\.conf/g, 'nixos-generation-2.conf').replace('Generation 1', 'Generation 2')}\n${LIST_GEN1}`;
const LOADER = 'timeout 5\ndefault nixos-generation-1.conf\nconsole-mode keep\n';
const GENS_1 = '   1   2026-11-25 08:52:02   (current)\n';
const GENS_12 = '   1   2026-11-25 08:52:02   \n   2   2026-11-25 09:03:41   (current)\n';
const SSHD_UP = 'ActiveState=active\nSubState=running\n';
// `systemctl show` of an sshd that a rebuild stopped (the runbook's Common mistakes 3).
const SSHD_DOWN = 'ActiveState=inactive\nSubState=dead\n';
// The runbook's service-health example.
const NGINX_FAILED = '● nginx.service loaded failed failed Nginx Web Server\n';
const EFI = vf('efivars.fixture.txt');
// `ip -j addr show` in the fixture installer VM (QEMU's NIC, MAC 52:54:00:12:34:56): renamed to
// rehearse0 with 10.0.2.15/24; left as enp0s1, down, no address; and lo alone (no such NIC).
const IP_UP = vf('ip-addr.rehearse0.json');
const IP_NO_ADDRESS = vf('ip-addr.no-address.json');
const IP_LO_ONLY = JSON.stringify([JSON.parse(IP_UP)[0]]);
const ESP = parseEfiVars(EFI).entries.find((e) => e.label === 'Linux Boot Manager')!.partuuid!;
/** The same dump with BootCurrent moved to Boot#### (e.g. the removable-media fallback's disk entry). */
const bootCurrent = (num: string) => EFI.replace(/^(BootCurrent-\S+) \S+$/m, (_, n) => `${n} ${Buffer.concat([Buffer.from([6, 0, 0, 0]), Buffer.from([parseInt(num.slice(2), 16), parseInt(num.slice(0, 2), 16)])]).toString('base64')}`);
const ONESHOT = 'OneShot Boot Loader Entry: nixos-generation-1.conf\nDefault Boot Loader Entry: nixos-generation-2.conf';

interface Case {
  pass: () => Check;
  /** The realistic failures: each must be red. */
  fail: Array<() => Check>;
}

const CASES: Record<CheckId, Case> = {
  'booted-system': {
    pass: () => checkBootedSystem(GEN1, GEN1, GEN1),
    // Generation 2 runs although generation 1 was installed; and readlink's error is no system.
    fail: [() => checkBootedSystem(GEN1, GEN2, GEN2), () => checkBootedSystem('', 'readlink: /run/current-system: No such file or directory', '')],
  },
  'boot-entries': {
    pass: () => checkBootEntriesOutput(LIST_GEN1, LOADER, 'nixos-generation-1.conf'),
    // The ESP was not mounted at install: only the firmware-setup entry; or loader.conf lost its default.
    fail: [() => checkBootEntriesOutput(LIST_GEN1.split('\n').slice(1).join('\n'), LOADER, 'nixos-generation-1.conf'), () => checkBootEntriesOutput(LIST_GEN1, 'timeout 5\n', 'nixos-generation-1.conf'), () => checkBootEntriesOutput('Failed to open /boot/loader/entries: No such file', LOADER, 'nixos-generation-1.conf')],
  },
  generations: {
    pass: () => checkGenerations(GENS_1, 1),
    fail: [() => checkGenerations(GENS_12, 1), () => checkGenerations('', 1)],
  },
  'pool-health': {
    pass: () => checkPoolHealth('all pools are healthy\n'),
    // The runbook's DEGRADED pool; ext4 with errors; Btrfs with corruption; Btrfs saying nothing.
    fail: [
      () => checkPoolHealth(rb('zpool-status-degraded.runbook.txt')),
      () => checkPoolHealth('no pools available\n'),
      () => checkExt4Health('Filesystem state:         clean with errors\n', 0),
      () => checkBtrfsHealth('[/dev/nvme0n1p2].write_io_errs    0\n[/dev/nvme0n1p2].corruption_errs  3\n', 0),
      () => checkBtrfsHealth('', 0),
    ],
  },
  'boot-time': {
    pass: () => checkBootTime(vf('systemd-analyze-time.fixture.txt'), vf('systemd-analyze-blame.fixture.txt')),
    // What systemd-analyze prints while jobs are still running (src/analyze/analyze-time.c).
    fail: [() => checkBootTime('Bootup is not yet finished (org.freedesktop.systemd1.Manager.FinishTimestampMonotonic=0).\nPlease try again later.\n', '')],
  },
  'failed-units': {
    pass: () => checkFailedUnits(''),
    fail: [() => checkFailedUnits(NGINX_FAILED), () => checkFailedUnits('Failed to connect to bus: No such file or directory\n')],
  },
  sshd: {
    pass: () => checkSshd(SSHD_UP),
    fail: [() => checkSshd(SSHD_DOWN), () => checkSshd('ActiveState=failed\nSubState=failed\n')],
  },
  'ssh-login': {
    pass: () => checkSshLogin(0, 'rehearse@server\n', '', 'rehearse', 'server'),
    fail: [
      () => checkSshLogin(255, '', 'rehearse@127.0.0.1: Permission denied (publickey).', 'rehearse', 'server'),
      () => checkSshLogin(255, '', 'ssh: connect to host 127.0.0.1 port 40022: Connection refused', 'rehearse', 'server'),
    ],
  },
  'password-login-refused': {
    // NixOS's default with only PasswordAuthentication = false: keyboard-interactive offered, no password gets in.
    pass: () => checkPasswordRefused({ user: 'rehearse', marker: 'password-login-0a1b2c', stdout: '', exitCode: 255, stderr: 'rehearse@127.0.0.1: Permission denied (publickey,keyboard-interactive).\n' }),
    // The password got in; or the try could not even reach sshd.
    fail: [
      () => checkPasswordRefused({ user: 'rehearse', marker: 'password-login-0a1b2c', exitCode: 0, stdout: 'password-login-0a1b2c\n', stderr: '' }),
      () => checkPasswordRefused({ user: 'rehearse', marker: 'password-login-0a1b2c', stdout: '', exitCode: 255, stderr: 'ssh: connect to host 127.0.0.1 port 40022: Connection refused\n' }),
    ],
  },
  'vm-network': {
    pass: () => checkVmNetwork(IP_UP, VM_NIC),
    // The NIC kept its predictable name and got no address (the configuration names a NIC the VM lacks); no NIC with QEMU's MAC.
    fail: [() => checkVmNetwork(IP_NO_ADDRESS, VM_NIC), () => checkVmNetwork(IP_LO_ONLY, VM_NIC)],
  },
  'efi-boot-entry': {
    pass: () => checkEfiBootEntry(EFI, [ESP]),
    // Booted through another entry (the NVMe disk's auto entry runs \EFI\BOOT\BOOTX64.EFI); or no entry for the installed ESP.
    fail: [() => checkEfiBootEntry(bootCurrent('0002'), [ESP]), () => checkEfiBootEntry(EFI, ['00000000-0000-0000-0000-000000000000'])],
  },
  'closure-size': {
    pass: () => checkClosureSize(`${GEN1}\t 290.4 MiB\n`),
    fail: [() => checkClosureSize(`error: path '${GEN1}' is not valid\n`)],
  },
  // Real `df -P` (coreutils): this machine's / three times (no separate /nix or /boot), and a
  // 1 MiB tmpfs filled to 93 %.
  'disk-space': {
    pass: () => checkDiskSpace(vf('df-ok.txt')),
    fail: [() => checkDiskSpace(vf('df-nearly-full.txt')), () => checkDiskSpace('df: /nix: No such file or directory\n')],
  },
  'secrets-not-in-store': {
    pass: () => checkSecretsNotInStore(1, ''),
    fail: [() => checkSecretsNotInStore(0, '/nix/store/3x9k…-source/secrets.env\n'), () => checkSecretsNotInStore(2, 'grep: /nix/store: Permission denied\n')],
  },
  'rebuild-build': {
    pass: () => checkRebuildBuild({ exitCode: 0, output: `building the system configuration...\n${GEN2}`, before: GEN1, built: GEN2, currentAfter: GEN1, markerAfter: '1' }),
    fail: [
      // The real failure from a fixture run (report.json): the harness file missing from the flake.
      () => checkRebuildBuild({ exitCode: 1, output: "building the system configuration...\nerror: path '/nix/store/jclnfy068glbys4jh0s9w1y2z9k7yc4p-source/vm-hardware.nix' does not exist", before: GEN1, built: 'readlink: /root/result: No such file or directory', currentAfter: GEN1, markerAfter: '1' }),
      // Exit 0 but no ./result: readlink's error message is not a new system.
      () => checkRebuildBuild({ exitCode: 0, output: 'building the system configuration...', before: GEN1, built: 'readlink: /root/result: No such file or directory', currentAfter: GEN1, markerAfter: '1' }),
      // "build" that switched: the running system changed.
      () => checkRebuildBuild({ exitCode: 0, output: '', before: GEN1, built: GEN2, currentAfter: GEN2, markerAfter: '2' }),
    ],
  },
  'rebuild-switch': {
    pass: () => checkRebuildSwitch(0, 'activating the configuration...\nsetting up /etc...', '2\n'),
    // "Don't trust “switch succeeded”": exit 0 and the change not visible; or a failed switch.
    fail: [() => checkRebuildSwitch(0, 'activating the configuration...', '1\n'), () => checkRebuildSwitch(4, 'warning: error(s) occurred while switching to the new configuration', '2')],
  },
  'rebuild-sshd': {
    pass: () => checkSshd(SSHD_UP, 'rebuild-sshd'),
    fail: [() => checkSshd(SSHD_DOWN, 'rebuild-sshd')],
  },
  'rebuild-failed-units': {
    pass: () => checkFailedUnits('', 'rebuild-failed-units'),
    fail: [() => checkFailedUnits(NGINX_FAILED, 'rebuild-failed-units')],
  },
  'rebuild-generations': {
    pass: () => checkGenerations(GENS_12, 2, 2, 'rebuild-generations'),
    // The real failure: the switch failed and generation 1 is all there is.
    fail: [() => checkGenerations('   1   2026-11-25 08:47:38   (current)', 2, 2, 'rebuild-generations'), () => checkGenerations('   1   2026-11-25 08:52:02   (current)\n   2   2026-11-25 09:03:41   \n', 2, 2, 'rebuild-generations')],
  },
  'rollback-in-place': {
    pass: () => checkRollbackInPlace(0, 'switching profile from version 2 to 1\nactivating the configuration...', '1\n', { current: GEN1, gen1: GEN1 }),
    fail: [
      () => checkRollbackInPlace(0, 'activating the configuration...', '2\n', { current: GEN2, gen1: GEN1 }),
      // The marker says 1 but generation 2 still runs.
      () => checkRollbackInPlace(0, 'activating the configuration...', '1\n', { current: GEN2, gen1: GEN1 }),
      () => checkRollbackInPlace(1, 'error: no generation older than the current (1) exists', '1'),
      // Exit 4 for a unit generation 1 itself has (loaded, failed): a real failure of the rollback.
      () => checkRollbackInPlace(4, LEFTOVER.replace('Loaded: not-found (Reason: Unit rehearse-broken.service not found.)', 'Loaded: loaded (/etc/systemd/system/rehearse-broken.service; enabled)'), '1\n', { current: GEN1, gen1: GEN1 }),
    ],
  },
  'rollback-at-boot': {
    pass: () => checkRollbackAtBoot({ oneshot: ONESHOT, selected: 'nixos-generation-1.conf', defaultEntry: 'nixos-generation-2.conf', booted: GEN1, gen1: GEN1, marker: '1' }),
    fail: [
      // The one-shot entry ignored: systemd-boot started the default, generation 2.
      () => checkRollbackAtBoot({ oneshot: ONESHOT, selected: 'nixos-generation-2.conf', defaultEntry: 'nixos-generation-2.conf', booted: GEN2, gen1: GEN1, marker: '2' }),
      // The real failure from a fixture run: set-oneshot printed no entry, nothing was read back.
      () => checkRollbackAtBoot({ oneshot: '               ✓ Default entry control\nDefault Boot Loader Entry:\n', selected: '', defaultEntry: undefined, booted: '', gen1: '', marker: '' }),
    ],
  },
  'rollback-entries-retained': {
    pass: () => checkEntriesRetained(LIST_GEN12),
    // Only one generation left in the boot menu (GC or configurationLimit ate the rest).
    fail: [() => checkEntriesRetained(LIST_GEN1), () => checkEntriesRetained('')],
  },
};

describe('every check id the phases can emit has a green and a red case', () => {
  it('the cases cover CHECK_IDS exactly', () => {
    expect(Object.keys(CASES).sort()).toEqual([...CHECK_IDS].sort());
  });

  for (const id of CHECK_IDS) {
    describe(id, () => {
      it('green on good evidence', () => {
        const c = CASES[id].pass();
        expect(c.id).toBe(id);
        expect(c, c.summary).toMatchObject({ id, status: 'pass' });
        expect(c.evidence.length).toBeGreaterThan(0);
      });
      CASES[id].fail.forEach((f, i) => {
        it(`red on realistic failure #${i + 1}`, () => {
          const c = f();
          expect(c, c.summary).toMatchObject({ id, status: 'fail' });
          expect(c.summary.length).toBeGreaterThan(0);
          // Why, as a stable code the diagnosis rules match (never the summary).
          expect(c.reason, c.summary).toMatch(/^[a-z0-9]+(?:-[a-z0-9]+)*$/);
        });
      });
    });
  }
});

describe('the check table (verify/post-boot.ts) and the phases only gather evidence: ids and verdicts come from checks.ts', () => {
  const phases = ['phases/verify.ts', 'phases/upgrade.ts', 'phases/installed-vm.ts'].map((f) => [f, src(f)] as const);
  const table = src('verify/post-boot.ts');
  const checks = src('verify/checks.ts');

  it('no phase writes a verdict of its own', () => {
    for (const [f, text] of phases) {
      expect(text, f).not.toMatch(/status:\s*'(?:pass|fail)'/);
      for (const id of CHECK_IDS) expect(text, f).not.toMatch(new RegExp(`\\bid:\\s*'${id}'`));
    }
    expect(table).not.toMatch(/status:\s*'(?:pass|fail)'/);
  });

  it('the verdict of each table entry names that entry id', () => {
    const env: CheckEnv = { rootKind: 'zfs', toplevel: '/nix/store/x', espPartuuids: [], nic: VM_NIC, user: 'rehearse', generation: 1 };
    for (const c of POST_BOOT_CHECKS) {
      const v = c.verdict({}, env, {});
      expect(v.id).toBe(c.id);
    }
  });

  it('every check id is in the table or made by a phase, and each has a runbook Decision', () => {
    const tableIds = POST_BOOT_CHECKS.map((c) => c.id);
    expect(new Set(tableIds).size).toBe(tableIds.length);
    const phaseIds = CHECK_IDS.filter((id) => !tableIds.includes(id));
    expect(phaseIds.every((id) => /^(?:rebuild|rollback)-/.test(id))).toBe(true);
    for (const id of CHECK_IDS) expect(checkDecision(id), id).toBeDefined();
  });

  it('the ids named in checks.ts are exactly CHECK_IDS', () => {
    const named = new Set<string>();
    // In checks.ts: pass('x'…), fail('x'…), guarded('x'…), and `id: 'a' | 'b' = 'a'` parameters.
    for (const m of checks.matchAll(/\b(?:pass|fail|guarded)\(\s*'([a-z][a-z-]*)'/g)) named.add(m[1]!);
    for (const m of checks.matchAll(/\bid: ((?:'[a-z-]+'\s*\|\s*)*'[a-z-]+') = '/g)) for (const q of m[1]!.matchAll(/'([a-z-]+)'/g)) named.add(q[1]!);
    // In the phases: an id handed to a check function as its last argument.
    for (const [, text] of phases) for (const m of text.matchAll(/\bcheck\w+\((?:[^()]|\([^()]*\))*?,\s*'([a-z][a-z-]*)'\)/g)) named.add(m[1]!);
    expect([...named].sort()).toEqual([...CHECK_IDS].sort());
  });
});

describe('a red check says why as a reason code (CheckReasons), the code the diagnosis rules read', () => {
  it.each([
    [() => checkPoolHealth('no pools available\n'), 'no-pool'],
    [() => checkPoolHealth(readFileSync(new URL('../fixtures/runbook/zpool-status-degraded.runbook.txt', import.meta.url), 'utf8')), 'unhealthy'],
    [() => checkPasswordRefused({ user: 'admin', exitCode: 0, stdout: 'MARK', stderr: '', marker: 'MARK' }), 'password-accepted'],
    [() => checkPasswordRefused({ user: 'admin', exitCode: 255, stdout: '', stderr: 'ssh: connect to host 127.0.0.1 port 2222: Connection refused', marker: 'MARK' }), 'unreachable'],
    [() => checkSshLogin(255, '', 'admin@127.0.0.1: Permission denied (publickey).', 'admin', 'server'), 'refused'],
    [() => checkSshLogin(255, '', 'ssh: connect to host 127.0.0.1 port 2222: Connection refused', 'admin', 'server'), 'unreachable'],
    [() => checkSecretsNotInStore(0, '/nix/store/abc-secret'), 'secret-found'],
    [() => checkEntriesRetained(JSON.stringify([{ id: 'nixos-generation-1.conf' }])), 'too-few-generations'],
    [() => checkEntriesRetained('not json'), 'unreadable'],
    [() => checkGenerations('[]', 2, 2, 'rebuild-generations'), 'no-new-generation'],
  ] as Array<[() => Check, string]>)('%#: %s', (f, reason) => {
    const c = f();
    expect(c, c.summary).toMatchObject({ status: 'fail', reason });
  });
});

describe('a rollback in place after a unit of the rolled-back generation failed', () => {
  // switch-to-configuration-ng lists every unit systemd holds as failed and exits 4; a unit of
  // generation 2 that failed stays failed ("Loaded: not-found") after the switch back to 1.
  it('passes when generation 1 is back and every failed unit is one generation 1 does not have, naming them', () => {
    expect(leftoverFailedUnits(LEFTOVER)).toEqual(['rehearse-broken.service']);
    const c = checkRollbackInPlace(4, LEFTOVER, '1\n', { current: GEN1, gen1: GEN1 });
    expect(c.status).toBe('pass');
    expect(c.summary).toMatch(/generation 1 is current again and the change is gone \(it exits 4: rehearse-broken\.service, failed in the generation rolled back from/);
  });
  it('still fails when the change stayed, whatever the exit code says', () => {
    expect(checkRollbackInPlace(4, LEFTOVER, '2\n', { current: GEN2, gen1: GEN1 }).reason).toBe('change-still-there');
    expect(leftoverFailedUnits('activating the configuration...\n')).toBeUndefined();
  });
});
