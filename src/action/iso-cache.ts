// The installer ISO in the Actions cache, keyed by its sha256: a nightly or PR run downloads the
// ~1 GB ISO once per checksum, not once per run. Thin adapter over @actions/cache; any cache
// trouble is a warning, never a failed rehearsal.
import { existsSync } from 'node:fs';
import * as cache from '@actions/cache';
import * as core from '@actions/core';
import { isoCachePath, normaliseSha, publishedSha256 } from '../iso/source.js';

/** The checksum the run will verify: the input, else the one published next to the URL. */
export async function expectedIsoSha256(iso: string, given?: string): Promise<string | undefined> {
  if (given) return normaliseSha(given);
  if (!/^https?:\/\//.test(iso)) return undefined;
  // Unreachable or unpublished: the rehearsal itself reports it (iso/source.ts), with the fix.
  return publishedSha256(iso).catch(() => undefined);
}

const key = (sha: string) => `nixos-rehearse-iso-${sha}`;

export async function restoreIso(cacheDir: string, sha: string): Promise<boolean> {
  if (!cache.isFeatureAvailable()) return false;
  try {
    const hit = await cache.restoreCache([isoCachePath(cacheDir, sha)], key(sha));
    if (hit) core.info(`installer ISO restored from the Actions cache (${hit})`);
    return !!hit;
  } catch (e) {
    core.warning(`the Actions cache could not restore the ISO: ${(e as Error).message}`);
    return false;
  }
}

export async function saveIso(cacheDir: string, sha: string): Promise<void> {
  const file = isoCachePath(cacheDir, sha);
  if (!cache.isFeatureAvailable() || !existsSync(file)) return;
  try {
    await cache.saveCache([file], key(sha));
    core.info(`installer ISO saved to the Actions cache as ${key(sha)}`);
  } catch (e) {
    // Another job of the same run may have saved it first (ReserveCacheError): fine.
    core.info(`the ISO was not saved to the Actions cache: ${(e as Error).message}`);
  }
}

/**
 * Upgrade mode's installed base (upgrade/base-cache.ts) in the Actions cache, under the engine's
 * own key: restored before the run, saved after it when the run made it. Cache trouble is a
 * note, never a failed rehearsal; a restored entry the engine finds damaged is discarded there.
 */
export async function restoreBase(dir: string, key: string): Promise<boolean> {
  if (!cache.isFeatureAvailable()) return false;
  try {
    const hit = await cache.restoreCache([dir], `nixos-rehearse-base-${key}`);
    if (hit) core.info(`the installed base restored from the Actions cache (${hit})`);
    return !!hit;
  } catch (e) {
    core.warning(`the Actions cache could not restore the installed base: ${(e as Error).message}`);
    return false;
  }
}

export async function saveBase(dir: string, key: string): Promise<void> {
  if (!cache.isFeatureAvailable() || !existsSync(dir)) return;
  try {
    await cache.saveCache([dir], `nixos-rehearse-base-${key}`);
    core.info(`the installed base saved to the Actions cache as nixos-rehearse-base-${key}`);
  } catch (e) {
    core.info(`the installed base was not saved to the Actions cache: ${(e as Error).message}`);
  }
}
