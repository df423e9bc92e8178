/**
 * hash-wasm hashers, one reused instance per algorithm per thread (creating one compiles
 * a WASM module; reusing it costs nothing). Used by the inline engine and by workers.
 */
import { createRequire } from 'node:module';
// hash-wasm is loaded on first use: commands that never hash don't pay its import.
import type { IHasher } from 'hash-wasm';
import type { Algorithm } from '../digest.js';
import type { HashState } from './types.js';

const require = createRequire(import.meta.url);
const version: string = require('hash-wasm/package.json').version;

/**
 * Tag of the hash-wasm build whose `save()` format we read. A checkpoint from another
 * tag is ignored (the ingest re-hashes its data) rather than risking a wrong digest.
 */
export const HASH_BUILD = `hash-wasm@${version}`;

const factories: Record<Algorithm, () => Promise<IHasher>> = {
  sha256: () => import('hash-wasm').then((m) => m.createSHA256()),
  sha512: () => import('hash-wasm').then((m) => m.createSHA512()),
  blake3: () => import('hash-wasm').then((m) => m.createBLAKE3()),
};

const cache = new Map<Algorithm, Promise<IHasher>>();

export function hasher(alg: Algorithm): Promise<IHasher> {
  let h = cache.get(alg);
  if (!h) {
    h = factories[alg]();
    cache.set(alg, h);
  }
  return h;
}

export async function initState(alg: Algorithm): Promise<HashState> {
  const h = await hasher(alg);
  h.init();
  return { alg, build: HASH_BUILD, offset: 0, state: h.save() };
}

/** Synchronous once the hasher exists: load, update, save. */
export function updateWith(h: IHasher, s: HashState, data: Uint8Array): HashState {
  h.load(s.state);
  h.update(data);
  return { alg: s.alg, build: s.build, offset: s.offset + data.byteLength, state: h.save() };
}

export function digestWith(h: IHasher, s: HashState): string {
  h.load(s.state);
  return `${s.alg}:${h.digest('hex')}`;
}

/** True when `s` can be loaded by this build. */
export function compatible(s: Pick<HashState, 'build' | 'alg'> | undefined, alg: Algorithm): boolean {
  return !!s && s.build === HASH_BUILD && s.alg === alg;
}
