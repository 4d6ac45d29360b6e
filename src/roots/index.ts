// The root kinds, one module each (zfs.ts, ext4.ts, btrfs.ts; their interface in types.ts). A
// layout (runbook/layouts.ts) names its root's kind; the rest of the code asks rootKind(layout)
// or rootKindNamed(kind) and never compares a kind with a name. A new kind is a module here, its
// entry in ROOT_KINDS and RootConfig, a LAYOUT entry and its test (test/unit/roots.test.ts).
import { type BtrfsRoot, btrfs } from './btrfs.js';
import { type Ext4Root, ext4 } from './ext4.js';
import type { RootKind } from './types.js';
import { type ZfsRoot, zfs } from './zfs.js';

export type { BtrfsRoot, Ext4Root, ZfsRoot };
export type { RootContext, RootKind, RootStep } from './types.js';

/** A layout's root: the config of one kind. */
export type RootConfig = ZfsRoot | Ext4Root | BtrfsRoot;
export type RootKindName = RootConfig['kind'];

/** Every kind's module, by kind. */
export const ROOT_KINDS: { readonly [K in RootKindName]: RootKind<Extract<RootConfig, { kind: K }>> } = { zfs, ext4, btrfs };

/** The module of a kind. */
export function rootKindNamed(kind: RootKindName): RootKind<RootConfig> {
  const k: RootKind<RootConfig> | undefined = ROOT_KINDS[kind];
  if (!k) throw new Error(`unknown root kind '${kind}'`);
  return k;
}

/** The module of a layout's root. */
export function rootKind(layout: { root: RootConfig }): RootKind<RootConfig> {
  return rootKindNamed(layout.root.kind);
}
