/**
 * The content store contract. Implementations: the local store (src/local/). Every
 * implementation must pass the conformance suite in test/suite/.
 *
 * Lifecycle of an ingest (containerd's model):
 *   writer({ref}) → write()* → commit()      blob appears atomically, ingest removed
 *                           → close()       partial data kept; a later writer on the same
 *                                           ref resumes at its offset
 *                           → abort(ref)    partial data discarded
 * At most one writer holds a ref at a time, across every process sharing the root.
 */
import type { Readable } from 'node:stream';
import type { Algorithm } from '../digest.js';

export interface Info {
  digest: string;
  size: number;
  createdAt: Date;
  /** Labels (containerd's content labels); {} when none. */
  labels?: Record<string, string>;
}

/** Identity of a process holding a ref lock. `startTicks` tells a live pid from a reused one. */
export interface Owner {
  pid: number;
  host: string;
  bootId?: string;
  startTicks?: number;
  /** Pid namespace (`pid:[…]`): pids of another namespace cannot be judged. */
  pidNs?: string;
}

/**
 * `active`: the ref lock is held by a live owner with a fresh heartbeat; `stalled`: held by
 * a live process on this host whose heartbeat stopped (stopped by SIGSTOP, a debugger, a
 * suspend): it keeps the ref until it dies or an operator forces a takeover
 * (`abort --force`); `idle`: no holder, resumable; `stale`: the lock exists but its holder
 * is dead, or is on another host (or of unknown identity) and its heartbeat stopped — the
 * next writer takes it over.
 */
export type IngestState = 'active' | 'stalled' | 'idle' | 'stale';

export interface Status {
  ref: string;
  /** Bytes written so far (the size of the ingest's data). */
  offset: number;
  total?: number;
  expected?: string;
  startedAt: Date;
  updatedAt: Date;
  owner?: Owner;
  /** Present when listing from the store (listStatuses / status). */
  state?: IngestState;
  /** Age of the ref lock in ms, when one exists. */
  lockAgeMs?: number;
  /** ms since the lock's last heartbeat, when one exists (large for a `stalled` holder). */
  heartbeatAgeMs?: number;
  /** The ingest's directory key (sha256 of the ref), when listed from a local store. */
  key?: string;
  /**
   * The status record is unreadable (torn by a crash): `ref` is then empty in listings
   * (the key still names it); resume (by ref) and prune work as usual.
   */
  damaged?: boolean;
}

export interface WalkFilter {
  algorithm?: Algorithm;
  /** Digest prefix, e.g. `sha256:ab`. */
  prefix?: string;
  minSize?: number;
  maxSize?: number;
}

export interface StatusFilter {
  /** Ref prefix. */
  prefix?: string;
  state?: IngestState;
}

export interface ReaderAt {
  readonly size: number;
  /** Reads up to `length` bytes at `position`; a read past the end returns what exists (possibly empty). */
  read(position: number, length: number): Promise<Buffer>;
  close(): Promise<void>;
}

export interface WriterOptions {
  ref: string;
  /** Expected total size, verified at commit. */
  total?: number;
  /** Expected digest: AlreadyExists at open if present; verified at commit. */
  expected?: string;
  /**
   * When another writer holds the ref: false (default) fails with Unavailable; true waits
   * without bound; a number waits at most that many ms. After a wait, an `expected` digest
   * that is now present yields AlreadyExists.
   */
  wait?: boolean | number;
  /** Digest algorithm when no `expected` is given (default sha256). */
  algorithm?: Algorithm;
  signal?: AbortSignal;
}

export interface CommitOptions {
  size?: number;
  expected?: string;
}

export interface Writer {
  readonly ref: string;
  /** Appends at the current offset. */
  write(chunk: Uint8Array): Promise<void>;
  /** Optional: appends `chunks` in order as one write (no coalescing copy by the caller). */
  writev?(chunks: readonly Uint8Array[]): Promise<void>;
  /** Digest of the bytes written so far. */
  digest(): Promise<string>;
  status(): Promise<Status>;
  /** Only 0 is supported: discard everything, keep holding the ref. */
  truncate(size: number): Promise<void>;
  /**
   * Verify and publish. Size mismatch or digest mismatch → FailedPrecondition (ingest kept,
   * lock released); content already present → AlreadyExists (ingest removed). Every outcome
   * releases the ref. Returns the committed digest.
   */
  commit(options?: CommitOptions): Promise<string>;
  /** Release the ref, keeping partial data for a later resume. Idempotent. */
  close(): Promise<void>;
}

export interface ReadStreamOptions {
  start?: number;
  /** Inclusive, like fs.createReadStream. */
  end?: number;
}

export interface Store {
  readonly root: string;
  info(digest: string): Promise<Info>;
  walk(filter?: WalkFilter): AsyncIterable<Info>;
  readerAt(digest: string): Promise<ReaderAt>;
  createReadStream(digest: string, options?: ReadStreamOptions): Promise<Readable>;
  /**
   * Changes a blob's labels (containerd's Update): with no `fieldpaths` the labels given
   * replace all of them; `labels` does the same; `labels.K` sets K, or removes it when the
   * value is empty or absent. Returns the updated Info. NotFound for an absent blob.
   */
  update(digest: string, change: { labels?: Record<string, string> }, fieldpaths?: string[]): Promise<Info>;
  /** Filesystem path of a committed blob (NotFound if absent). */
  path(digest: string): Promise<string>;
  delete(digest: string): Promise<void>;
  writer(options: WriterOptions): Promise<Writer>;
  status(ref: string): Promise<Status>;
  listStatuses(filter?: StatusFilter): Promise<Status[]>;
  abort(ref: string): Promise<void>;
  /** Releases pools and watchers; the store is unusable afterwards. */
  close(): Promise<void>;
}
