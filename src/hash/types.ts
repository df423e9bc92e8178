/**
 * The hashing contract. Hash state is explicit and portable: it is hash-wasm `save()`
 * output, so any engine (inline on the calling thread, or any worker of the pool) can
 * continue any ingest, and the state can be checkpointed to disk for O(1) resume.
 */
import type { Algorithm } from '../digest.js';

/** Opaque hash-wasm state, tagged with the build that produced it. */
export interface HashState {
  alg: Algorithm;
  /** Identifies the hash-wasm build; a state from another build is never loaded. */
  build: string;
  /** Bytes hashed so far. */
  offset: number;
  state: Uint8Array;
}

export interface HashEngine {
  /** A fresh state at offset 0. */
  init(alg: Algorithm): Promise<HashState>;
  /**
   * Continue `state` over `data`. The engine may transfer or share `data`; the caller
   * must not reuse the memory until the promise settles.
   */
  update(state: HashState, data: Uint8Array): Promise<HashState>;
  /**
   * Optional: continues `state` over `chunks` in order on the calling thread before
   * returning, without keeping them (so the caller needs no copy) and without changing
   * `state` (which stays valid, so an update whose bytes then fail to reach the disk is
   * simply dropped). Undefined when this state cannot be continued that way (then use update()).
   */
  updateSync?(state: HashState, chunks: readonly Uint8Array[]): HashState | undefined;
  /**
   * Optional: a stream continuing `state` that hashes pushed chunks in order without a round
   * trip between them (./stream.ts), for a long sequential ingest. Undefined when this
   * state is not worth one (small, or not this engine's own).
   */
  openStream?(state: HashState): HashStream | undefined;
  /** Hex digest of everything hashed into `state` (does not consume it). */
  digest(state: HashState): Promise<string>;
  close(): Promise<void>;
}

/** One ingest's chained updates, pipelined (HashEngine.openStream). */
export interface HashStream {
  /**
   * Queues `data` after everything pushed before; resolves to the state after it. `data` is
   * read after push() returns: keep it unchanged until the promise settles.
   */
  push(data: Uint8Array): Promise<HashState>;
  /** Stops the stream: pending and later pushes fail. */
  end(): void;
}
