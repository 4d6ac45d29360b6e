// What the guest's shells are told in `--network internet` mode: the proxy (the VM's only way
// out, egress/relay.ts) in the variables curl (and so Nix's downloads) and git read, for the
// engine's root shell and, through the service manager, for services started after it
// (nix-daemon, which builds for non-root users, is restarted when it already runs).
import { EGRESS_PROXY } from '../qemu/spec.js';

export const PROXY_VARIABLES = ['http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY'] as const;

/** One shell line: export the proxy variables here, hand them to systemd, and restart a running nix-daemon. */
export function proxyEnvCommand(url: string = EGRESS_PROXY.url): string {
  const vars = [...PROXY_VARIABLES.map((v) => `${v}=${url}`), 'no_proxy=127.0.0.1,localhost,::1', 'NO_PROXY=127.0.0.1,localhost,::1'].join(' ');
  return `export ${vars}; systemctl set-environment ${vars} 2>/dev/null; systemctl try-restart nix-daemon.service 2>/dev/null; true`;
}
