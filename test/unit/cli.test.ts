// The CLI as a person meets it: exit codes, stdout for --json only, the live line under a TTY.
// Nothing here boots a VM: the runs stop on their inputs or on a missing QEMU.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let dir: string;
const cli = (args: string[], env: Record<string, string> = {}) =>
  execa('npx', ['tsx', 'src/cli.ts', ...args], { reject: false, env: { TMPDIR: path.join(dir, 'tmp'), ...env } });

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'nixos-rehearse-cli-test-'));
  mkdirSync(path.join(dir, 'tmp'));
  mkdirSync(path.join(dir, 'flake'));
  writeFileSync(path.join(dir, 'flake', 'flake.nix'), '{ outputs = _: { nixosConfigurations.x = null; }; }\n');
  writeFileSync(path.join(dir, 'empty.iso'), '');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('nixos-rehearse exit codes', { timeout: 60_000 }, () => {
  it('--help documents the exit codes, examples and environment, not the developer commands', async () => {
    const r = await cli(['--help']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/Exit codes:\n {2}0 .*\n {2}1 .*\n {2}2 .*\n {2}3 /);
    expect(r.stdout).toContain('--json | jq .result');
    expect(r.stdout).toContain('NO_COLOR');
    expect(r.stdout).toContain('NIXOS_REHEARSE_QEMU');
    expect(r.stdout).not.toMatch(/engine-demo|fixture build/);
  });

  it('a usage error exits 2 with its message on stderr', async () => {
    const r = await cli(['run', '--flake', '.#x', '--no-such-option']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/unknown option '--no-such-option'/);
    expect(r.stdout).toBe('');
  });

  it('a bad value exits 2', async () => {
    const r = await cli(['run', '--flake', `${dir}/flake#x`, '--cpus', '0']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/--cpus must be a whole number/);
  });

  it('--network-allow: a bad entry, or any with --network none, exits 2 before anything boots, saying why', async () => {
    const bad = await cli(['run', '--flake', `${dir}/flake#x`, '--iso', path.join(dir, 'empty.iso'), '--network-allow', 'cache.lan', '--out', path.join(dir, 'out-allow')]);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain("network-allow entry 'cache.lan' is not an IP address or ADDRESS/PREFIX block (e.g. 10.1.2.3 or 10.1.0.0/16)");
    const none = await cli(['run', '--flake', `${dir}/flake#x`, '--iso', path.join(dir, 'empty.iso'), '--network', 'none', '--network-allow', '10.1.2.3', '--out', path.join(dir, 'out-allow-none')]);
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toContain('--network-allow 10.1.2.3 has no effect with --network none: the VM reaches nothing');
  });

  it('a flake that is not there exits 2; report.json is still written, on stdout with --json', async () => {
    const out = path.join(dir, 'out-input');
    const r = await cli(['run', '--flake', '/nonexistent#x', '--iso', path.join(dir, 'empty.iso'), '--out', out, '--json']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/flake directory not found: \/nonexistent/);
    expect(r.stderr).toContain(`report: ${out}/report.json`);
    expect(JSON.parse(r.stdout).result).toBe('fail');
  });

  it('a missing QEMU exits 3, from doctor and from run (nothing boots)', async () => {
    const env = { NIXOS_REHEARSE_QEMU: '/nonexistent/qemu-system-x86_64' };
    const d = await cli(['doctor', '--accel', 'tcg'], env);
    expect(d.exitCode).toBe(3);
    expect(d.stdout).toMatch(/FAIL\s+qemu/);
    const r = await cli(['run', '--flake', `${dir}/flake#x`, '--iso', path.join(dir, 'empty.iso'), '--accel', 'tcg', '--out', path.join(dir, 'out-host'), '--json'], env);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/this host is not ready for a rehearsal: QEMU not found/);
    expect(JSON.parse(r.stdout).result).toBe('fail');
  });
});

describe('the terminal reporter under a TTY', { timeout: 60_000 }, () => {
  it('draws the live line: \\r, the step and the guest serial line (util-linux script gives it a pty)', async () => {
    const script = path.join(dir, 'tty.ts');
    writeFileSync(
      script,
      `import { terminalReporter } from ${JSON.stringify(path.resolve('src/reporters/terminal.ts'))};
const r = terminalReporter({ tickMs: 50 });
r.runStart!({ reportPath: '/out/report.json', logDir: '/out/logs', flake: '/cfg#x', layout: 'zfs' }, { lastSerialLine: () => '[  OK  ] Started the serial line' });
r.stepStart!({ id: 'task-06-root-filesystem', task: 6, title: 'Create the pool' });
setTimeout(() => {
  r.stepEnd!({ id: 'task-06-root-filesystem', task: 6, title: 'Create the pool', status: 'pass', durationMs: 300, command: '', outputTail: '' });
  process.stderr.write('isTTY=' + process.stderr.isTTY + '\\n');
}, 300);
`,
    );
    const tsx = path.resolve('node_modules/.bin/tsx');
    const r = await execa('script', ['-qec', `${tsx} ${script}`, '/dev/null'], { reject: false, env: { NO_COLOR: '1', TMPDIR: path.join(dir, 'tmp') } });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('isTTY=true');
    expect(r.stdout).toMatch(/\r\x1b\[2K {2}… task-06-root-filesystem 0s │ \[ {2}OK {2}\] Started the serial line/);
    expect(r.stdout).toMatch(/✓ task-06-root-filesystem/);
  });
});
