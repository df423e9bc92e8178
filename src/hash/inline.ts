/**
 * Hashes on the calling thread. Used for small chunks (where a worker round trip costs
 * more than the hash) and where no pool is wanted. Large chunks belong in the pool
 * (src/hash/pool.ts) so the main thread stays free for lock heartbeats.
 */
import type { Algorithm } from '../digest.js';
import type { HashEngine, HashState } from './types.js';
import { digestWith, hasher, initState, updateWith } from './wasm.js';

export class InlineHashEngine implements HashEngine {
  init(alg: Algorithm): Promise<HashState> {
    return initState(alg);
  }
  async update(state: HashState, data: Uint8Array): Promise<HashState> {
    return updateWith(await hasher(state.alg), state, data);
  }
  async digest(state: HashState): Promise<string> {
    return digestWith(await hasher(state.alg), state);
  }
  async close(): Promise<void> {}
}

export const inlineEngine = new InlineHashEngine();
