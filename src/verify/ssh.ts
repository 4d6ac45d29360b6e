// The host side of the SSH checks: a login with this run's key, and a password login tried the
// way an attacker would. Thin adapters over OpenSSH's ssh(1); the verdicts are in checks.ts.
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { ownedTempDir } from '../leftovers.js';
import type { PasswordTry } from './checks.js';

export function sshArgs(key: string, port: number, connectSeconds = 60): string[] {
  return ['-i', key, '-p', String(port), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-o', `ConnectTimeout=${Math.round(connectSeconds)}`, '-o', 'LogLevel=ERROR'];
}

/** `ssh -i key user@127.0.0.1 'echo "$(id -un)@$(hostname)"'` through the forwarded port. */
export async function keyLogin(key: string, port: number, user: string, connectSeconds: number, timeoutMs: number): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const r = await execa('ssh', [...sshArgs(key, port, connectSeconds), `${user}@127.0.0.1`, 'echo "$(id -un)@$(hostname)"'], { reject: false, timeout: timeoutMs });
  return { exitCode: r.exitCode ?? -1, stdout: `${r.stdout}`, stderr: `${r.stderr}` };
}

/**
 * Tries to log in with a password, as an attacker would: public keys off, password and
 * keyboard-interactive, one answer per prompt given by an askpass program (OpenSSH ssh(1):
 * SSH_ASKPASS with SSH_ASKPASS_REQUIRE=force; the password travels in its environment, never on
 * a command line).
 */
export async function tryPasswordLogin(port: number, user: string, password: string, connectSeconds: number, timeoutMs: number): Promise<PasswordTry> {
  const dir = ownedTempDir('nixos-rehearse-askpass-');
  const marker = `password-login-${randomBytes(6).toString('hex')}`;
  try {
    const askpass = path.join(dir, 'askpass');
    writeFileSync(askpass, '#!/bin/sh\nprintf \'%s\\n\' "$NIXOS_REHEARSE_PASSWORD"\n', { mode: 0o700 });
    const r = await execa(
      'ssh',
      [
        '-p', String(port), '-F', '/dev/null',
        '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', `ConnectTimeout=${Math.round(connectSeconds)}`,
        '-o', 'PubkeyAuthentication=no', '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none', '-o', 'GSSAPIAuthentication=no',
        '-o', 'PreferredAuthentications=keyboard-interactive,password', '-o', 'NumberOfPasswordPrompts=1',
        `${user}@127.0.0.1`, `echo ${marker}`,
      ],
      { reject: false, timeout: timeoutMs, stdin: 'ignore', env: { SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: ':0', NIXOS_REHEARSE_PASSWORD: password } },
    );
    return { user, exitCode: r.exitCode ?? -1, stdout: `${r.stdout}`, stderr: `${r.stderr}`, marker };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
