// Console.history(): a restored VM's serial console starts with the saved boot's text, which
// tail() returns (the boot stage and a failure's serial tail read it) but no wait matches.
import { describe, expect, it } from 'vitest';
import { Console } from '../../src/console/console.js';

describe('Console.history', () => {
  it('is in tail(), before what the guest prints next, and no wait matches it', async () => {
    const c = new Console({ name: 'restored' });
    c.history('<<< Welcome to NixOS 25.11 (x86_64) - ttyS0 >>>\nnixos login: nixos (automatic login)\n');
    expect(c.tail(5)).toContain('nixos login: nixos (automatic login)');
    const seen = c.waitFor(/automatic login|zpool/, 2000);
    c.feed('# zpool status\r\n');
    expect((await seen)[0]).toBe('zpool');
    expect(c.tail(5)).toMatch(/automatic login\)\n# zpool status/);
  });
});
