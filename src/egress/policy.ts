// What the VM may reach in `--network internet` mode (#15 item 12): the public internet, and
// nothing of the runner or its networks. Pure: the relay (egress/relay.ts) asks it about each
// address a name resolved to, before it connects.
//
// "Public" is IANA's special-purpose address registries read the other way round: an address
// in a block IANA marks as not globally reachable is refused (RFC 6890 and its updates; the
// registries at iana.org/assignments/iana-ipv4-special-registry and
// iana-ipv6-special-registry). That covers the runner's loopback (what QEMU's 10.0.2.2 is), its
// private networks, link-local addresses (the cloud metadata service at 169.254.169.254) and
// multicast. Node's net.BlockList does the matching (IPv4-mapped IPv6 addresses included).
import net from 'node:net';

/** Not globally reachable, each with the name the reason gives. */
const SPECIAL: ReadonlyArray<readonly [string, number, 'ipv4' | 'ipv6', string]> = [
  ['0.0.0.0', 8, 'ipv4', 'this network'],
  ['10.0.0.0', 8, 'ipv4', 'private'],
  ['100.64.0.0', 10, 'ipv4', 'shared address space'],
  ['127.0.0.0', 8, 'ipv4', 'loopback'],
  ['169.254.0.0', 16, 'ipv4', 'link-local'],
  ['172.16.0.0', 12, 'ipv4', 'private'],
  ['192.0.0.0', 24, 'ipv4', 'IETF protocol assignments'],
  ['192.0.2.0', 24, 'ipv4', 'documentation'],
  ['192.88.99.0', 24, 'ipv4', '6to4 relay anycast'],
  ['192.168.0.0', 16, 'ipv4', 'private'],
  ['198.18.0.0', 15, 'ipv4', 'benchmarking'],
  ['198.51.100.0', 24, 'ipv4', 'documentation'],
  ['203.0.113.0', 24, 'ipv4', 'documentation'],
  ['224.0.0.0', 4, 'ipv4', 'multicast'],
  ['240.0.0.0', 4, 'ipv4', 'reserved'],
  ['::', 128, 'ipv6', 'unspecified'],
  ['::1', 128, 'ipv6', 'loopback'],
  ['64:ff9b:1::', 48, 'ipv6', 'local-use translation'],
  ['100::', 64, 'ipv6', 'discard-only'],
  ['2001::', 23, 'ipv6', 'IETF protocol assignments'],
  ['2001:db8::', 32, 'ipv6', 'documentation'],
  ['2002::', 16, 'ipv6', '6to4'],
  ['fc00::', 7, 'ipv6', 'unique local'],
  ['fe80::', 10, 'ipv6', 'link-local'],
  ['fec0::', 10, 'ipv6', 'site-local'],
  ['ff00::', 8, 'ipv6', 'multicast'],
];

const BLOCKS = SPECIAL.map(([address, prefix, family, name]) => {
  const list = new net.BlockList();
  list.addSubnet(address, prefix, family);
  return { list, name: `${name} (${address}/${prefix})` };
});

/** Why `address` is not a public address (the block it is in), or undefined when it is one. */
export function notPublic(address: string): string | undefined {
  const family = net.isIPv4(address) ? 'ipv4' : net.isIPv6(address) ? 'ipv6' : undefined;
  if (!family) return `${JSON.stringify(address)} is not an IP address`;
  return BLOCKS.find((b) => b.list.check(address, family))?.name;
}

/** Addresses and CIDR blocks the user lets the VM reach besides the public internet (a private binary cache). */
export interface Allowed {
  list: net.BlockList;
  entries: string[];
}

/** Parses `--network-allow` entries (an address or ADDRESS/PREFIX each); throws on a bad one, naming it. */
export function parseAllowed(entries: readonly string[]): Allowed {
  const list = new net.BlockList();
  for (const e of entries) {
    const [address = '', prefix, extra] = e.split('/');
    const family = net.isIPv4(address) ? 'ipv4' : net.isIPv6(address) ? 'ipv6' : undefined;
    const max = family === 'ipv4' ? 32 : 128;
    const bits = prefix === undefined ? max : /^\d{1,3}$/.test(prefix) ? Number(prefix) : NaN;
    if (!family || extra !== undefined || !(bits >= 0 && bits <= max)) throw new Error(`network-allow entry '${e}' is not an IP address or ADDRESS/PREFIX block (e.g. 10.1.2.3 or 10.1.0.0/16)`);
    list.addSubnet(address, bits, family);
  }
  return { list, entries: [...entries] };
}

export interface Target {
  address: string;
  why: 'public' | 'allowed';
}
export type Verdict = { ok: true; targets: Target[] } | { ok: false; why: string };

/**
 * Which of the addresses a name resolved to the relay may connect to, in the order to try them:
 * every one that is public or allowed, IPv4 first (a runner often has no IPv6 route, while
 * names like cache.nixos.org have both), else the resolver's order. The relay connects to these
 * addresses, never to the name again, so a second lookup cannot swap in another. None: why,
 * naming each refused address's block.
 */
export function choose(host: string, addresses: readonly string[], allowed?: Allowed): Verdict {
  const refused: string[] = [];
  const targets: Target[] = [];
  for (const a of addresses) {
    const family = net.isIPv4(a) ? 'ipv4' : 'ipv6';
    const why = notPublic(a);
    if (allowed && net.isIP(a) && allowed.list.check(a, family)) targets.push({ address: a, why: 'allowed' });
    else if (!why) targets.push({ address: a, why: 'public' });
    else refused.push(`${a}: ${why}`);
  }
  if (targets.length) return { ok: true, targets: [...targets.filter((t) => net.isIPv4(t.address)), ...targets.filter((t) => !net.isIPv4(t.address))] };
  if (!addresses.length) return { ok: false, why: `${host} did not resolve` };
  return { ok: false, why: `${host} is not on the public internet (${refused.join('; ')}): with --network internet the VM reaches only public addresses${allowed?.entries.length ? ` and ${allowed.entries.join(', ')}` : ''}; add it with --network-allow if the rehearsal needs it` };
}
