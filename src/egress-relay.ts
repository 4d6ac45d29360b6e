// Entry point of dist/egress-relay.js: the program QEMU's guestfwd starts for each connection
// the guest opens to the proxy (egress/relay.ts). Its standard input, output and error are that
// connection (libslirp's fork_exec): it never prints anything else on them; its own errors go
// to the log.
//   egress-relay.js [--log FILE] [--allow ADDRESS[/PREFIX] ...]
import { appendFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseAllowed } from './egress/policy.js';
import { relay } from './egress/relay.js';

const { values } = parseArgs({ options: { log: { type: 'string' }, allow: { type: 'string', multiple: true } } });
try {
  await relay(process.stdin, process.stdout, { log: values.log, allowed: parseAllowed(values.allow ?? []) });
} catch (e) {
  if (values.log) appendFileSync(values.log, `${JSON.stringify({ time: new Date().toISOString(), verdict: 'relay-error', why: (e as Error).message })}\n`);
}
// The connection is over (or was refused): nothing else holds this process.
process.stdout.end(() => process.exit(0));
