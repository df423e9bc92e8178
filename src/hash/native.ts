/**
 * node:crypto (OpenSSL) hashing for streamed ingests, chosen with `--hash native`.
 * OpenSSL SHA-256 runs ~2.4× faster than hash-wasm here, but its state cannot be saved:
 * such an ingest is not checkpointed, and resuming it re-hashes its data (at OpenSSL
 * speed). BLAKE3 has no OpenSSL implementation and always uses hash-wasm.
 *
 * Hashing happens on the calling thread in ≤ 1 MiB slices (~3 ms each at 350 MB/s),
 * short enough not to delay lock heartbeats (every ≥ 1 s).
 */
import { createHash, type Hash } from 'node:crypto';
import type { Algorithm } from '../digest.js';
import { inlineEngine } from './inline.js';
import type { HashEngine, HashState } from './types.js';

export const NATIVE_BUILD = 'node:crypto';

interface NativeState extends HashState {
  handle: Hash;
}

const isNative = (s: HashState): s is NativeState => s.build === NATIVE_BUILD;

export class NativeHashEngine implements HashEngine {
  async init(alg: Algorithm): Promise<HashState> {
    if (alg === 'blake3') return inlineEngine.init(alg);
    const state: NativeState = { alg, build: NATIVE_BUILD, offset: 0, state: new Uint8Array(0), handle: createHash(alg) };
    return state;
  }

  async update(s: HashState, data: Uint8Array): Promise<HashState> {
    if (!isNative(s)) return inlineEngine.update(s, data);
    // The chain of updates of one ingest is sequential, so the handle moves along with it.
    s.handle.update(data);
    const next: NativeState = { ...s, offset: s.offset + data.byteLength };
    return next;
  }

  /**
   * In place, for a writer that hashes the caller's buffers while their write is under way.
   * The handle is copied once per call (a few hundred bytes), so `s` stays a valid state.
   */
  updateSync(s: HashState, chunks: readonly Uint8Array[]): HashState | undefined {
    if (!isNative(s)) return undefined;
    const handle = s.handle.copy();
    let offset = s.offset;
    for (const c of chunks) {
      handle.update(c);
      offset += c.byteLength;
    }
    const next: NativeState = { ...s, handle, offset };
    return next;
  }

  async digest(s: HashState): Promise<string> {
    if (!isNative(s)) return inlineEngine.digest(s);
    return `${s.alg}:${s.handle.copy().digest('hex')}`;
  }

  async close(): Promise<void> {}
}

export const nativeEngine = new NativeHashEngine();
