/**
 * The default hash engine: a hybrid that hashes small chunks inline and large ones in the
 * pool, plus the process-wide default pool that bulk `add` and `verify` share.
 *
 * Policy (numbers measured on the 2-core dev machine):
 * - A piscina round trip costs ~56 µs; sharing a 1 MiB chunk ~0.09 ms (SharedArrayBuffer)
 *   vs 0.3 ms transferred. hash-wasm SHA-256 hashes 64 KiB in ~0.2 ms, so below
 *   INLINE_THRESHOLD (64 KiB) hashing on the calling thread is cheaper than a round trip and
 *   blocks it for well under a millisecond; larger chunks go to the pool so the main thread
 *   never stalls lock heartbeats.
 * - Streamed ingests (writers) hash with hash-wasm, inline or in the pool, because their
 *   state must be checkpointable (`save()` bytes, resumable by any worker or process).
 * - Whole local files (`add`, `verify`) have no state to checkpoint: workers hash them with
 *   node:crypto (OpenSSL, ~2.4× faster than hash-wasm SHA-256 here) for sha256/sha512;
 *   node:crypto has no BLAKE3, so blake3 always uses hash-wasm. `--hash wasm|native`
 *   overrides (native for blake3 falls back to wasm).
 */
import type { Algorithm } from '../digest.js';
import { HashPool, type HashMode, type PoolOptions } from './pool.js';
import { WorkerHashStream } from './stream.js';
import type { HashEngine, HashState, HashStream } from './types.js';
import { compatible, digestWith, hasher, initState, updateWith } from './wasm.js';

/** Chunks smaller than this are hashed on the calling thread. */
export const INLINE_THRESHOLD = 64 * 1024;

/**
 * An ingest gets its own hashing thread (./stream.ts) once it has passed this many bytes:
 * below, the thread's start (~30 ms, its module loads and WebAssembly compile) costs more
 * than the pool's round trips it saves.
 */
export const STREAM_AFTER = 4 << 20;

export class HybridHashEngine implements HashEngine {
  constructor(
    readonly pool: HashPool,
    readonly threshold = INLINE_THRESHOLD,
  ) {}

  init(alg: Algorithm): Promise<HashState> {
    return initState(alg);
  }

  async update(state: HashState, data: Uint8Array): Promise<HashState> {
    if (data.byteLength < this.threshold) return updateWith(await hasher(state.alg), state, data);
    return this.pool.update(state, data);
  }

  private streams = 0;

  /**
   * A pinned hashing thread for a long ingest whose state is hash-wasm's. At most one per
   * pool thread at a time (each is a thread with its own hasher); beyond that, and for a
   * short ingest, the pool serves (undefined).
   */
  openStream(state: HashState): HashStream | undefined {
    if (state.offset < STREAM_AFTER || !compatible(state, state.alg) || this.streams >= this.pool.threads) return undefined;
    this.streams++;
    return new WorkerHashStream(state, () => this.streams--);
  }

  /** Finalising is a few compression rounds: always inline. */
  async digest(state: HashState): Promise<string> {
    return digestWith(await hasher(state.alg), state);
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/** The whole-file hashing mode for `alg` when the caller did not choose (see policy). */
export function fileHashMode(alg: Algorithm, requested?: HashMode | 'auto'): HashMode {
  if (alg === 'blake3') return 'wasm';
  return requested === 'wasm' ? 'wasm' : 'native';
}

let options: PoolOptions = {};
let engine: HybridHashEngine | undefined;

/**
 * Options for the default pool (e.g. the CLI's `--jobs`). Takes effect for the next pool
 * started; the current one (if any) keeps running until closeDefaultEngine().
 */
export function configureDefaultEngine(opts: PoolOptions): void {
  options = { ...opts };
  if (engine && !engine.pool.started) engine = new HybridHashEngine(new HashPool(options));
}

/** The process-wide hybrid engine. Cheap: its pool starts on the first large chunk. */
export function defaultEngine(): HybridHashEngine {
  engine ??= new HybridHashEngine(new HashPool(options));
  return engine;
}

/** The pool behind defaultEngine(), shared by bulk add and verify. */
export function defaultPool(): HashPool {
  return defaultEngine().pool;
}

/** Destroys the default pool's workers; a later defaultEngine() starts a fresh one. */
export async function closeDefaultEngine(): Promise<void> {
  const e = engine;
  engine = undefined;
  if (e) await e.close();
}
