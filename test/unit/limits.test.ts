// The settings a user types, bounded once for the CLI and the action (src/limits.ts): each
// refusal names the setting, the value and the range, and carries them as data.
import { describe, expect, it } from 'vitest';
import { LIMITS, LimitError, diskSize, hostName, wholeNumber } from '../../src/limits.js';
import { splitFlakeRef } from '../../src/runbook/plan.js';

describe('limits', () => {
  it('a phase limit past a JavaScript timer, or not a whole number, is refused with the range', () => {
    for (const v of ['40000', 'Infinity', 'NaN', '0', '-1', '1e3', '0x10', ' ', '99999999999999999999']) {
      expect(() => wholeNumber('--phase-timeout', v, LIMITS.phaseTimeoutMinutes), v).toThrow("--phase-timeout must be a whole number of minutes from 1 to 1440 (got '" + v + "')");
    }
    // The largest limit still fits a timer, scaled as the engine never scales it (wall minutes).
    expect(LIMITS.phaseTimeoutMinutes.max * 60_000).toBeLessThan(2 ** 31 - 1);
    expect(wholeNumber('--phase-timeout', '90', LIMITS.phaseTimeoutMinutes)).toBe(90);
  });

  it('errors are data: the setting, the value and what was expected', () => {
    try {
      wholeNumber('--cpus', '300', LIMITS.cpus);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(LimitError);
      expect(e).toMatchObject({ kind: 'input', setting: '--cpus', value: '300', expected: 'a whole number of CPUs from 1 to 64' });
    }
  });

  it('disk sizes as qemu-img takes them, from 4G to 2T', () => {
    expect(diskSize('--disk-size', '20G')).toBe('20G');
    expect(diskSize('--disk-size', '2T')).toBe('2T');
    for (const v of ['3G', '4095M', '3T', '20', '20g', '20 G', '1e3G']) expect(() => diskSize('--disk-size', v), v).toThrow(/--disk-size must be a size like 20G, from 4G to 2T/);
  });

  it('host names are Nix attribute names: nothing that a shell, a Nix string or a path would read', () => {
    for (const h of ['server', 'web-01', 'db_primary', '_x']) expect(hostName('host', h)).toBe(h);
    for (const h of ['x;touch /tmp/pwn', '$(id)', '${pkgs.hello}', '../../etc', 'a b', 'a"b', "a'b", '1st', '-x', 'a.b', 'x'.repeat(64)]) {
      expect(() => hostName('host', h), h).toThrow(LimitError);
    }
    // The flake reference of the CLI and the engine goes through the same check.
    expect(splitFlakeRef('/repo#web-01')).toEqual(['/repo', 'web-01']);
    expect(() => splitFlakeRef('/repo#x;touch /tmp/pwn')).toThrow(/the host in flake reference '\/repo#x;touch \/tmp\/pwn' must be a Nix attribute name/);
    expect(() => splitFlakeRef('/repo#../../../escape/x')).toThrow(LimitError);
  });
});
