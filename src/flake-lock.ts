// flake.lock on the base branch against this change: which of the flake's own inputs moved.
// Pure (the caller reads the files, e.g. `git show <base>:flake.lock`), so it is unit-tested on
// fixtures.
//
// The format, as Nix itself reads and writes it (NixOS/nix src/libflake/lockfile.cc,
// `LockFile::LockFile` and `LockFile::toJSON`; types in src/libflake/include/nix/flake/lockfile.hh):
//   { "version": 7, "root": "root", "nodes": { "<key>": { "inputs": {…}, "locked": {…},
//     "original": {…}, "flake": false? } } }
// Nix accepts versions 5 to 7. An entry of a node's `inputs` is either a node key (a string) or
// a `follows` path (an array of input names walked from the root node, `doFind` in lockfile.cc).
// `locked` holds the fetcher attributes: `type` and, by type, `owner`/`repo`/`host` (github,
// gitlab, sourcehut), `url` (git, tarball, file, mercurial), `path` (path); and `rev`, `ref`,
// `narHash`, `lastModified` (seconds since the epoch).
import type { LockChange } from './report.js';

export interface Locked {
  type?: string;
  owner?: string;
  repo?: string;
  host?: string;
  url?: string;
  path?: string;
  id?: string;
  rev?: string;
  narHash?: string;
  lastModified?: number;
}

export interface LockNode {
  inputs?: Record<string, string | string[]>;
  locked?: Locked;
}

export interface LockFile {
  version: number;
  root: string;
  nodes: Record<string, LockNode>;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses and checks the shape of a flake.lock; `file` names it in every error. */
export function parseFlakeLock(text: string, file: string): LockFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file} is not valid JSON: ${(e as Error).message}`);
  }
  if (!isObject(json)) throw new Error(`${file} is not a flake lock file: the top level is not an object`);
  const { version, root, nodes } = json;
  if (typeof version !== 'number' || version < 5 || version > 7) throw new Error(`${file} has unsupported lock file version ${JSON.stringify(version)} (Nix reads 5 to 7)`);
  if (typeof root !== 'string' || !isObject(nodes) || !isObject(nodes[root])) throw new Error(`${file} is not a flake lock file: no "root" node in "nodes"`);
  for (const [key, node] of Object.entries(nodes)) checkNode(file, key, node);
  return json as unknown as LockFile;
}

const STRING_FIELDS = ['type', 'owner', 'repo', 'host', 'url', 'path', 'id', 'rev', 'ref', 'narHash'] as const;

/**
 * One node's shape as Nix writes it (lockfile.cc): `inputs` maps names to a node key or a follows
 * path, `locked` holds strings and a numeric `lastModified`. A file that differs is refused here,
 * with the node and the field, before anything renders it (a numeric `rev` once threw in the
 * renderer after the whole run, and cost the summary, the comment and the outputs).
 */
function checkNode(file: string, key: string, node: unknown): void {
  const where = `${file}: node ${JSON.stringify(key)}`;
  if (!isObject(node)) throw new Error(`${where} is not an object`);
  if (node.inputs !== undefined) {
    if (!isObject(node.inputs)) throw new Error(`${where}: "inputs" is not an object`);
    for (const [name, edge] of Object.entries(node.inputs)) {
      const ok = typeof edge === 'string' || (Array.isArray(edge) && edge.every((e) => typeof e === 'string'));
      if (!ok) throw new Error(`${where}: input ${JSON.stringify(name)} is neither a node name nor a follows path`);
    }
  }
  if (node.locked !== undefined) {
    if (!isObject(node.locked)) throw new Error(`${where}: "locked" is not an object`);
    for (const f of STRING_FIELDS) {
      if (node.locked[f] !== undefined && typeof node.locked[f] !== 'string') throw new Error(`${where}: locked.${f} is not a string`);
    }
    const lm = node.locked.lastModified;
    if (lm !== undefined && !(typeof lm === 'number' && Number.isSafeInteger(lm) && lm >= 0)) throw new Error(`${where}: locked.lastModified is not a time in seconds`);
  }
}

/**
 * The node an input edge leads to. A follows path is resolved from the root node, the way Nix
 * does (`doFind`), so a root input declared as `inputs.x.follows = "y"` is compared as what it
 * really locks. A path that leads nowhere, loops, or is empty (it names the flake itself) gives
 * undefined and the input is skipped: there is no revision of its own to compare, and a broken
 * follows is for `nix flake lock` to report, not this diff.
 */
function resolve(lock: LockFile, edge: string | string[], seen: Set<string> = new Set()): LockNode | undefined {
  if (typeof edge === 'string') return lock.nodes[edge];
  const key = JSON.stringify(edge);
  if (edge.length === 0 || seen.has(key)) return undefined;
  seen.add(key);
  let node: LockNode | undefined = lock.nodes[lock.root];
  for (const name of edge) {
    const next: string | string[] | undefined = node?.inputs?.[name];
    if (next === undefined) return undefined;
    node = resolve(lock, next, seen);
  }
  return node;
}

/** Where an input comes from, in flake-reference terms (`github:NixOS/nixpkgs`, a URL, a path). */
function source(l: Locked): string | undefined {
  if ((l.type === 'github' || l.type === 'gitlab' || l.type === 'sourcehut') && l.owner && l.repo) return `${l.type}:${l.owner}/${l.repo}`;
  if (l.url) return l.url;
  if (l.type === 'path' && l.path) return `path:${l.path}`;
  return l.id;
}

/** The root node's direct inputs (the ones flake.nix declares), by name, with what they lock. */
function directInputs(lock: LockFile): Map<string, Locked> {
  const out = new Map<string, Locked>();
  for (const [name, edge] of Object.entries(lock.nodes[lock.root].inputs ?? {})) {
    const locked = resolve(lock, edge)?.locked;
    if (locked) out.set(name, locked);
  }
  return out;
}

const side = (l: Locked): NonNullable<LockChange['old']> => ({ rev: l.rev, lastModified: l.lastModified, url: source(l) });

/**
 * The flake's direct inputs that changed: `updated` when the locked revision or NAR hash differs
 * (a tarball or path input has no rev, only a hash), `added`/`removed` by input name. `baseText`
 * undefined means the base branch has no flake.lock: every input is added. Sorted by name.
 */
export function diffFlakeLock(baseText: string | undefined, headText: string): LockChange[] {
  const base = baseText === undefined ? new Map<string, Locked>() : directInputs(parseFlakeLock(baseText, 'flake.lock on the base branch'));
  const head = directInputs(parseFlakeLock(headText, 'flake.lock in this change'));
  const changes: LockChange[] = [];
  for (const input of [...new Set([...base.keys(), ...head.keys()])].sort()) {
    const o = base.get(input);
    const n = head.get(input);
    if (o && n) {
      if (o.rev !== n.rev || o.narHash !== n.narHash) changes.push({ input, change: 'updated', old: side(o), new: side(n) });
    } else if (n) changes.push({ input, change: 'added', new: side(n) });
    else if (o) changes.push({ input, change: 'removed', old: side(o) });
  }
  return changes;
}
