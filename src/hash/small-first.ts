/**
 * The engine of `dist ingest` and `dist pull --hash wasm` (issue 15): OpenSSL while an
 * ingest is small, the checkpointed engine (hash-wasm, inline or in the pool) once it is not.
 *
 * Why: hash-wasm's first use in a process decodes and compiles its WebAssembly — 10–20 ms
 * on the 2-core machine, more than all the rest of a 2 KiB ingest's work — and a chunk of
 * 64 KiB or more starts the worker pool. What it buys is a saved state, so that a resume
 * re-hashes nothing: worth it for a large ingest, worth nothing for a small one, whose
 * re-hash on resume costs about a millisecond.
 *
 * How: up to SMALL_BYTES the state is an OpenSSL hash that moves along the ingest's chain
 * of updates (as in ./native.ts) together with a copy of the bytes so far. The update that
 * passes SMALL_BYTES replays that copy into the checkpointed engine and continues there:
 * from then on the ingest is hashed, checkpointed and resumed exactly as with that engine.
 * A small state is not checkpointable (its build is not hash-wasm's), so a writer closed
 * below SMALL_BYTES saves no checkpoint, and its resume re-hashes that data from byte 0.
 * BLAKE3 (no OpenSSL implementation) always uses the checkpointed engine.
 */
import { createHash, type Hash } from 'node:crypto';
import type { Algorithm } from '../digest.js';
import { defaultEngine } from './engine.js';
import type { HashEngine, HashState, HashStream } from './types.js';

/** Up to this many bytes an ingest is hashed with OpenSSL (~1 ms per MiB, on the calling thread). */
export const SMALL_BYTES = 1 << 20;

export const SMALL_BUILD = 'node:crypto+kept';

interface SmallState extends HashState {
  handle: Hash;
  /** Copies of the bytes hashed so far (at most SMALL_BYTES), for the move to `inner`. */
  kept: Uint8Array[];
}

const isSmall = (s: HashState): s is SmallState => s.build === SMALL_BUILD;

export class SmallFirstEngine implements HashEngine {
  /** `inner` is looked up on each use: the default engine is replaced after closeDefaultEngine(). */
  constructor(private readonly inner: () => HashEngine = defaultEngine) {}

  async init(alg: Algorithm): Promise<HashState> {
    if (alg === 'blake3') return this.inner().init(alg);
    const s: SmallState = { alg, build: SMALL_BUILD, offset: 0, state: new Uint8Array(0), handle: createHash(alg), kept: [] };
    return s;
  }

  async update(s: HashState, data: Uint8Array): Promise<HashState> {
    if (!isSmall(s)) return this.inner().update(s, data);
    if (s.offset + data.byteLength <= SMALL_BYTES) {
      // The chain of updates of one ingest is sequential: handle and copies move along it.
      s.handle.update(data);
      // A copy: the caller may reuse `data` once we return (and Buffer#slice would not copy).
      s.kept.push(new Uint8Array(data));
      const next: SmallState = { ...s, offset: s.offset + data.byteLength };
      return next;
    }
    const inner = this.inner();
    let moved = await inner.init(s.alg);
    if (s.offset > 0) moved = await inner.update(moved, Buffer.concat(s.kept));
    return inner.update(moved, data);
  }

  /** Once the ingest moved on to `inner`, its stream (a small state has none). */
  openStream(s: HashState): HashStream | undefined {
    return isSmall(s) ? undefined : this.inner().openStream?.(s);
  }

  async digest(s: HashState): Promise<string> {
    if (!isSmall(s)) return this.inner().digest(s);
    return `${s.alg}:${s.handle.copy().digest('hex')}`;
  }

  close(): Promise<void> {
    return this.inner().close();
  }
}

export const smallFirstEngine = new SmallFirstEngine();
