import { createRequire as __nrCreateRequire } from 'node:module'; const require = __nrCreateRequire(import.meta.url);

// src/egress-relay.ts
import { appendFileSync as appendFileSync2 } from "node:fs";
import { parseArgs } from "node:util";

// src/egress/policy.ts
import net from "node:net";
var SPECIAL = [
  ["0.0.0.0", 8, "ipv4", "this network"],
  ["10.0.0.0", 8, "ipv4", "private"],
  ["100.64.0.0", 10, "ipv4", "shared address space"],
  ["127.0.0.0", 8, "ipv4", "loopback"],
  ["169.254.0.0", 16, "ipv4", "link-local"],
  ["172.16.0.0", 12, "ipv4", "private"],
  ["192.0.0.0", 24, "ipv4", "IETF protocol assignments"],
  ["192.0.2.0", 24, "ipv4", "documentation"],
  ["192.88.99.0", 24, "ipv4", "6to4 relay anycast"],
  ["192.168.0.0", 16, "ipv4", "private"],
  ["198.18.0.0", 15, "ipv4", "benchmarking"],
  ["198.51.100.0", 24, "ipv4", "documentation"],
  ["203.0.113.0", 24, "ipv4", "documentation"],
  ["224.0.0.0", 4, "ipv4", "multicast"],
  ["240.0.0.0", 4, "ipv4", "reserved"],
  ["::", 128, "ipv6", "unspecified"],
  ["::1", 128, "ipv6", "loopback"],
  ["64:ff9b:1::", 48, "ipv6", "local-use translation"],
  ["100::", 64, "ipv6", "discard-only"],
  ["2001::", 23, "ipv6", "IETF protocol assignments"],
  ["2001:db8::", 32, "ipv6", "documentation"],
  ["2002::", 16, "ipv6", "6to4"],
  ["fc00::", 7, "ipv6", "unique local"],
  ["fe80::", 10, "ipv6", "link-local"],
  ["fec0::", 10, "ipv6", "site-local"],
  ["ff00::", 8, "ipv6", "multicast"]
];
var BLOCKS = SPECIAL.map(([address, prefix, family, name]) => {
  const list = new net.BlockList();
  list.addSubnet(address, prefix, family);
  return { list, name: `${name} (${address}/${prefix})` };
});
function notPublic(address) {
  const family = net.isIPv4(address) ? "ipv4" : net.isIPv6(address) ? "ipv6" : void 0;
  if (!family) return `${JSON.stringify(address)} is not an IP address`;
  return BLOCKS.find((b) => b.list.check(address, family))?.name;
}
function parseAllowed(entries) {
  const list = new net.BlockList();
  for (const e of entries) {
    const [address = "", prefix, extra] = e.split("/");
    const family = net.isIPv4(address) ? "ipv4" : net.isIPv6(address) ? "ipv6" : void 0;
    const max = family === "ipv4" ? 32 : 128;
    const bits = prefix === void 0 ? max : /^\d{1,3}$/.test(prefix) ? Number(prefix) : NaN;
    if (!family || extra !== void 0 || !(bits >= 0 && bits <= max)) throw new Error(`network-allow entry '${e}' is not an IP address or ADDRESS/PREFIX block (e.g. 10.1.2.3 or 10.1.0.0/16)`);
    list.addSubnet(address, bits, family);
  }
  return { list, entries: [...entries] };
}
function choose(host, addresses, allowed) {
  const refused = [];
  const targets = [];
  for (const a of addresses) {
    const family = net.isIPv4(a) ? "ipv4" : "ipv6";
    const why = notPublic(a);
    if (allowed && net.isIP(a) && allowed.list.check(a, family)) targets.push({ address: a, why: "allowed" });
    else if (!why) targets.push({ address: a, why: "public" });
    else refused.push(`${a}: ${why}`);
  }
  if (targets.length) return { ok: true, targets: [...targets.filter((t) => net.isIPv4(t.address)), ...targets.filter((t) => !net.isIPv4(t.address))] };
  if (!addresses.length) return { ok: false, why: `${host} did not resolve` };
  return { ok: false, why: `${host} is not on the public internet (${refused.join("; ")}): with --network internet the VM reaches only public addresses${allowed?.entries.length ? ` and ${allowed.entries.join(", ")}` : ""}; add it with --network-allow if the rehearsal needs it` };
}

// src/egress/relay.ts
import { appendFileSync, existsSync, statSync } from "node:fs";
import { lookup } from "node:dns/promises";
import net2 from "node:net";
var MAX_HEAD = 16 * 1024;
function parseRequest(head) {
  const [line = "", ...headers] = head.split("\r\n");
  const m = /^([A-Z]+) (\S+) HTTP\/1\.[01]$/.exec(line);
  if (!m) throw new Error(`not an HTTP/1 proxy request: ${JSON.stringify(line.slice(0, 200))}`);
  const [, method, target] = m;
  if (method === "CONNECT") {
    const t = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+):(\d{1,5})$/.exec(target);
    if (!t || Number(t[2]) < 1 || Number(t[2]) > 65535) throw new Error(`CONNECT needs host:port, got ${JSON.stringify(target.slice(0, 200))}`);
    return { method, host: t[1].replace(/^\[|\]$/g, ""), port: Number(t[2]) };
  }
  let url;
  try {
    url = new URL(target);
  } catch {
    throw new Error(`a plain HTTP request through the proxy needs an absolute http:// URL, got ${JSON.stringify(target.slice(0, 200))}`);
  }
  if (url.protocol !== "http:") throw new Error(`only http:// URLs go through as plain requests (HTTPS uses CONNECT), got ${url.protocol}`);
  const kept = headers.filter((h) => h && !/^proxy-/i.test(h));
  const forward = Buffer.from(`${method} ${url.pathname}${url.search} HTTP/1.1\r
${kept.join("\r\n")}\r
\r
`);
  return { method, host: url.hostname.replace(/^\[|\]$/g, ""), port: Number(url.port || 80), forward };
}
function respond(out, status, text) {
  out.end(`HTTP/1.1 ${status}\r
Content-Type: text/plain; charset=utf-8\r
Content-Length: ${Buffer.byteLength(text) + 1}\r
Connection: close\r
\r
${text}
`);
}
function readHead(input, ms) {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const done = (e, v) => {
      clearTimeout(timer);
      input.off("data", onData).off("end", onEnd).off("error", onEnd);
      if (e) reject(e);
      else resolve(v);
    };
    const onData = (d) => {
      buf = Buffer.concat([buf, d]);
      const i = buf.indexOf("\r\n\r\n");
      if (i >= 0) {
        input.pause();
        done(void 0, { head: buf.subarray(0, i).toString("latin1"), rest: buf.subarray(i + 4) });
      } else if (buf.length > MAX_HEAD) done(new Error(`the request head is over ${MAX_HEAD} bytes`));
    };
    const onEnd = () => done(new Error("the connection closed before a whole request head"));
    const timer = setTimeout(() => done(new Error(`no request head within ${ms / 1e3} s`)), ms);
    input.on("data", onData).on("end", onEnd).on("error", onEnd);
  });
}
async function connectFirst(targets, port, ms) {
  const failures = [];
  for (const t of targets) {
    const r = await new Promise((resolve) => {
      const s = net2.connect({ host: t.address, port });
      s.setTimeout(ms, () => s.destroy(new Error(`no answer within ${ms / 1e3} s`)));
      s.once("connect", () => {
        s.setTimeout(0);
        s.removeAllListeners("error");
        resolve(s);
      });
      s.once("error", (e) => resolve(e));
    });
    if (!(r instanceof Error)) return { socket: r, address: t, failures };
    failures.push(`${t.address}: ${r.message}`);
  }
  return { failures };
}
var resolveAll = async (host) => net2.isIP(host) ? [host] : (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
var EGRESS_LOG_MAX_BYTES = 8 * 2 ** 20;
function note(o, entry) {
  if (!o.log) return;
  try {
    const size = existsSync(o.log) ? statSync(o.log).size : 0;
    if (size >= EGRESS_LOG_MAX_BYTES) return;
    const line = `${JSON.stringify({ time: (/* @__PURE__ */ new Date()).toISOString(), ...entry })}
`;
    const full = size + line.length >= EGRESS_LOG_MAX_BYTES;
    appendFileSync(o.log, full ? `${JSON.stringify({ time: (/* @__PURE__ */ new Date()).toISOString(), verdict: "log-full", why: `the egress log reached ${EGRESS_LOG_MAX_BYTES} bytes: later requests are not logged` })}
` : line);
  } catch {
  }
}
async function relay(input, output, o = {}) {
  const ms = o.timeoutMs ?? 3e4;
  let req;
  let rest;
  try {
    const h = await readHead(input, ms);
    rest = h.rest;
    req = parseRequest(h.head);
  } catch (e) {
    note(o, { verdict: "bad-request", why: e.message });
    respond(output, "400 Bad Request", e.message);
    return;
  }
  const target = { method: req.method, host: req.host, port: req.port };
  let addresses = [];
  try {
    addresses = await (o.resolve ?? resolveAll)(req.host);
  } catch (e) {
    note(o, { ...target, verdict: "unresolved", why: e.message });
    respond(output, "502 Bad Gateway", `${req.host} could not be resolved on the runner: ${e.message}`);
    return;
  }
  const v = choose(req.host, addresses, o.allowed);
  if (!v.ok) {
    note(o, { ...target, addresses, verdict: "refused", why: v.why });
    respond(output, "403 Forbidden", v.why);
    return;
  }
  const { socket: up, address, failures } = await connectFirst(v.targets, req.port, ms);
  if (!up) {
    note(o, { ...target, verdict: "unreachable", why: failures.join("; ") });
    respond(output, "502 Bad Gateway", `${req.host} port ${req.port} could not be reached from the runner: ${failures.join("; ")}`);
    return;
  }
  note(o, { ...target, address: address.address, verdict: address.why });
  if (req.forward) up.write(req.forward);
  else output.write("HTTP/1.1 200 Connection established\r\n\r\n");
  if (rest.length) up.write(rest);
  await new Promise((resolve) => {
    up.once("close", () => resolve());
    up.once("error", () => output.end());
    input.once("error", () => up.destroy());
    input.pipe(up);
    up.pipe(output);
  });
}

// src/egress-relay.ts
var { values } = parseArgs({ options: { log: { type: "string" }, allow: { type: "string", multiple: true } } });
try {
  await relay(process.stdin, process.stdout, { log: values.log, allowed: parseAllowed(values.allow ?? []) });
} catch (e) {
  if (values.log) appendFileSync2(values.log, `${JSON.stringify({ time: (/* @__PURE__ */ new Date()).toISOString(), verdict: "relay-error", why: e.message })}
`);
}
process.stdout.end(() => process.exit(0));
