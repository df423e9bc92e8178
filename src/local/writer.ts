/**
 * The write transaction of one ingest (DESIGN §3). A LocalWriter exists only while it holds
 * the ref lock; every way out (commit success or failure, close) releases it.
 *
 * Data path: write() puts the caller's bytes on disk at the current offset, then queues a
 * copy for hashing (a worker hashes chunk n while the next write() goes to disk). The hash
 * queue is bounded, so memory stays bounded. Hashing strictly follows the disk: a chunk's
 * hash update is adopted only after the chunk was written, so a failed write never leaves
 * hash and data apart. An engine that hashes in place (HashEngine.updateSync: OpenSSL) hashes
 * the caller's buffer itself while its write is under way, with no copy, into a new state
 * that is adopted once the write succeeded (and dropped if it failed).
 *
 * Checkpoints: every `checkpointBytes` or `checkpointMs`, and at close, the hash state is
 * saved into the status record, after an fdatasync of data — a checkpoint never covers
 * bytes that a power loss could take back. Reopening hashes only the data past it, and
 * re-hashes the prefix it covers in the background (./prefix-check.ts) before any commit.
 *
 * Integrity never rests on the lock alone: the files are opened so that no other live writer
 * shares them (./ingest-dir.ts), and the commit publishes only this writer's own file and
 * removes only its own directory (./publish.ts).
 */
import type { FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { CommitOptions, Status, Writer, WriterOptions } from '../content/types.js';
import { parseAlgorithm, parseDigest, type Algorithm } from '../digest.js';
import { alreadyExists, dataLoss, failedPrecondition, invalidArgument, isKind, wrapSystemError, type ContentError } from '../errors.js';
import { compatible } from '../hash/wasm.js';
import type { HashPool } from '../hash/pool.js';
import type { HashEngine, HashState, HashStream } from '../hash/types.js';
import { diag } from '../diagnostics.js';
import { crashpoint } from '../testing/crashpoint.js';
import { syncDir } from './fsync.js';
import { openIngest } from './ingest-dir.js';
import { hashRange, MAX_HASH_INFLIGHT, tailCrc, writeFully, writevFully } from './ingest-io.js';
import { tryLock, waitLock, type LockOptions, type RefLock } from './lock.js';
import { currentOwner } from './owner.js';
import { blobPath, ingestPaths, ingestRoot, type IngestPaths } from './paths.js';
import { PrefixCheck } from './prefix-check.js';
import { publish, removeIngestDir } from './publish.js';
import type { FileId } from './safe-fs.js';
import { MAX_REF_BYTES, StatusFile, type Checkpoint, type StatusRecord } from './status-file.js';
import { makeDir, type TrustPolicy } from './trust.js';

export interface WriterConfig {
  root: string;
  trust: TrustPolicy;
  engine: HashEngine;
  /** The pool that re-hashes a resumed prefix (started only when needed). */
  pool: () => HashPool;
  lock: LockOptions;
  checkpointBytes: number;
  checkpointMs: number;
  /** True when `digest` exists as a committed blob. */
  exists(digest: string): Promise<boolean>;
}

type State = 'open' | 'committed' | 'closed';

/**
 * Early writeback interval of an ingest whose hash state is not checkpointed (checkpointEvery).
 * A cold pull of the 256 MiB test image (four 64 MiB layers at once), median of 6–7 runs
 * alternating the values: 4 MiB 1.15 s, 8 MiB 1.06 s, 16 MiB 1.13–1.14 s, 32 MiB 1.14 s.
 */
const WRITEBACK_BYTES = 8 << 20;

export function validateWriterOptions(opts: WriterOptions): { alg: Algorithm; expected?: string } {
  if (typeof opts?.ref !== 'string' || opts.ref.length === 0) {
    throw invalidArgument('ERR_INVALID_REF', 'ref must be a non-empty string', { ref: String(opts?.ref) });
  }
  if (Buffer.byteLength(opts.ref) > MAX_REF_BYTES) {
    throw invalidArgument('ERR_INVALID_REF', `ref is longer than ${MAX_REF_BYTES} bytes`, { ref: opts.ref.slice(0, 80) });
  }
  if (opts.total !== undefined && !(Number.isSafeInteger(opts.total) && opts.total >= 0)) {
    throw invalidArgument('ERR_INVALID_SIZE', `invalid expected size ${opts.total} for ref ${JSON.stringify(opts.ref)}`, {
      ref: opts.ref,
      actual: String(opts.total),
    });
  }
  if (opts.expected !== undefined) {
    const d = parseDigest(opts.expected);
    return { alg: d.algorithm, expected: d.digest };
  }
  return { alg: opts.algorithm ? parseAlgorithm(opts.algorithm) : 'sha256' };
}

interface Opened {
  dirId: FileId;
  data: FileHandle;
  statusFile: StatusFile;
  record: StatusRecord;
  offset: number;
}

export class LocalWriter implements Writer {
  private state: State = 'open';
  private hashTail: Promise<HashState>;
  /** The state hashTail settled to, once it has (an in-place engine continues from it). */
  private hashNow: HashState | undefined;
  /** This ingest's own hashing thread, once the engine gives it one (HashEngine.openStream). */
  private stream: HashStream | undefined;
  /** Completion of each queued hash task, oldest first (bounded by MAX_HASH_INFLIGHT). */
  private inflight: Promise<unknown>[] = [];
  /**
   * Copies handed to the hash engine, reused round-robin. With one slot more than the
   * tasks allowed in flight, a slot is reused only after its task finished; a long ingest
   * then allocates nothing per write (fresh 1 MiB copies awaiting GC cost ~100 MiB RSS).
   */
  private readonly ring: Uint8Array[] = [];
  private ringNext = 0;
  private lastCheckpointOffset = 0;
  private lastCheckpointAt = Date.now();
  /** A checkpoint running in the background; record writes wait for it, so they stay ordered. */
  private pendingCheckpoint: Promise<void> | undefined;
  /** Kept in memory: the record is rewritten only at open, checkpoints and close. */
  private lastWriteAt = Date.now();
  /** The background re-hash of a resumed prefix, until it settles or is canceled. */
  private prefixCheck: PrefixCheck | undefined;
  private readonly dirId: FileId;
  private readonly data: FileHandle;
  private readonly statusFile: StatusFile;
  private record: StatusRecord;
  private offset: number;

  private constructor(
    readonly ref: string,
    private readonly cfg: WriterConfig,
    private readonly paths: IngestPaths,
    private readonly lock: RefLock,
    opened: Opened,
    hash: Promise<HashState>,
  ) {
    ({ dirId: this.dirId, data: this.data, statusFile: this.statusFile, record: this.record, offset: this.offset } = opened);
    this.hashTail = hash;
    // A rejected hash surfaces at the next digest/commit; never as an unhandled rejection.
    hash.catch(() => {});
  }

  /** Queues `next` as the hash state; hashNow tells its value once it settled. */
  private setHash(next: Promise<HashState>): void {
    this.hashTail = next;
    this.hashNow = undefined;
    next.then(
      (s) => {
        if (this.hashTail === next) this.hashNow = s;
      },
      () => {},
    );
  }

  static async open(cfg: WriterConfig, opts: WriterOptions & { force?: boolean }): Promise<LocalWriter> {
    const { alg, expected } = validateWriterOptions(opts);
    const ref = opts.ref;
    const present = () => alreadyExists('ERR_BLOB_EXISTS', `content with digest ${expected} already exists`, { ref, digest: expected });
    if (expected && (await cfg.exists(expected))) throw present();

    // ingest/ itself is created by tryLock when missing (its lock lives there).
    const paths = ingestPaths(cfg.root, ref);
    const wait = opts.wait === true ? Infinity : typeof opts.wait === 'number' ? opts.wait : 0;
    const req = { force: opts.force, fileMode: cfg.trust.fileMode, makeDir: (d: string) => makeDir(cfg.trust, d) };
    const lock = wait > 0 ? await waitLock(ref, paths, cfg.lock, wait, opts.signal, req) : await tryLock(ref, paths, cfg.lock, req);

    let files: Awaited<ReturnType<typeof openIngest>> | undefined;
    try {
      // Whoever held the ref before us may have committed the content we want.
      if (expected && (await cfg.exists(expected))) throw present();
      files = await openIngest(cfg.trust, paths, ref);
      // Nothing is written before we know the lock is still ours (we may have been paused
      // between taking it and opening the files).
      await lock.verify();
      const { prev, size } = files;
      const now = Date.now();
      const record: StatusRecord = {
        v: 1,
        ref,
        alg,
        total: opts.total ?? prev?.total,
        expected: expected ?? (prev?.alg === alg ? prev?.expected : undefined),
        startedAt: prev?.startedAt ?? now,
        updatedAt: now,
        owner: currentOwner(),
        writing: true,
        // A checkpoint past the end of data, or for another algorithm, can never be used
        // again; keeping it would also hold back new checkpoints until data passed it.
        checkpoint: prev?.checkpoint && prev.checkpoint.offset <= size && prev.checkpoint.alg === alg ? prev.checkpoint : undefined,
      };
      await files.status.write(record);
      const opened: Opened = { dirId: files.dirId, data: files.data, statusFile: files.status, record, offset: size };
      const w = new LocalWriter(ref, cfg, paths, lock, opened, Promise.resolve(undefined as never));
      w.setHash((await w.resumeHash(alg, size, record.checkpoint)).hash);
      w.lastCheckpointOffset = record.checkpoint?.offset ?? 0;
      diag.ingestOpen.publish({ ref, offset: size, resumed: !!prev, fenced: files.fenced });
      return w;
    } catch (err) {
      await files?.data.close().catch(() => {});
      await files?.status.close().catch(() => {});
      // Files that vanished under us mean the ref was taken from us (abort --force, a
      // takeover while we were paused): say so, not "no such file".
      const lost = await lock.verify().then(
        () => undefined,
        (e: ContentError) => e,
      );
      await lock.release().catch(() => {});
      throw lost ?? wrapSystemError(err, `opening ingest for ref ${JSON.stringify(ref)}`, { ref });
    }
  }

  /**
   * Rebuilds the hash state for `size` bytes of data: from the checkpoint when it is from
   * this hash build, within the data and matches the data's bytes at its end; else from 0.
   * Resolves once the state to continue from is chosen (and, with a checkpoint, the
   * background check of the prefix it covers has started, so no commit can precede it); the
   * returned `hash` is the state over the whole data, which later writes chain onto.
   */
  private async resumeHash(alg: Algorithm, size: number, cp: Checkpoint | undefined): Promise<{ hash: Promise<HashState> }> {
    const engine = this.cfg.engine;
    let state: HashState | undefined;
    if (cp && compatible(cp, alg) && cp.offset <= size && (await tailCrc(this.data, cp.offset)) === cp.tailCrc) {
      state = { alg, build: cp.build, offset: cp.offset, state: cp.state };
      if (cp.offset > 0) {
        const claimed = await engine.digest(state);
        this.prefixCheck = new PrefixCheck(this.cfg.pool(), this.ref, this.data.fd, alg, cp.offset, claimed);
      }
    }
    const from = state?.offset ?? 0;
    diag.ingestResume.publish({ alg, size, from, checkpoint: !!state });
    const start = state ?? (await engine.init(alg));
    return { hash: hashRange(engine, this.data, start, from, size) };
  }

  private assertOpen(op: string): void {
    if (this.state !== 'open') {
      throw failedPrecondition('ERR_WRITER_CLOSED', `cannot ${op}: writer for ref ${JSON.stringify(this.ref)} is ${this.state}`, {
        ref: this.ref,
      });
    }
    this.lock.check();
  }

  /**
   * The prefix check found the resumed data corrupt: discard it (the ingest restarts at
   * offset 0, still held by this writer) and report DataLoss. The caller may write the
   * content again from the start, or close.
   */
  private async resetCorrupt(failure: ContentError): Promise<never> {
    await this.restart();
    diag.ingestCorrupt.publish({ ref: this.ref, error: failure });
    throw dataLoss(failure.code, `${failure.message}; the partial data was discarded: write it again from the start`, failure.details);
  }

  /** Fails with the prefix check's verdict once it has one (with `wait`, waits for it). */
  private async checkPrefix(wait: boolean): Promise<void> {
    const pc = this.prefixCheck;
    if (!pc) return;
    const failure = wait ? await pc.result : pc.failure;
    // A check that could not run (pool closed, I/O error) proves nothing: keep the data.
    if (failure && !isKind(failure, 'DataLoss')) throw failure;
    if (failure) return this.resetCorrupt(failure);
    if (pc.settled) this.prefixCheck = undefined;
  }

  async write(chunk: Uint8Array): Promise<void> {
    return this.writeChunks([chunk], chunk.byteLength);
  }

  /** Appends `chunks` in order with one vectored write: a caller holding many small buffers (a socket's) needs no coalescing copy. */
  async writev(chunks: readonly Uint8Array[]): Promise<void> {
    return this.writeChunks(chunks, chunks.reduce((n, c) => n + c.byteLength, 0));
  }

  private async writeChunks(chunks: readonly Uint8Array[], bytes: number): Promise<void> {
    this.assertOpen('write');
    await this.checkPrefix(false);
    if (bytes === 0) return;
    const total = this.record.total;
    if (total !== undefined && this.offset + bytes > total) {
      throw failedPrecondition(
        'ERR_SIZE_EXCEEDED',
        `write of ${bytes} bytes at offset ${this.offset} exceeds the expected size ${total} of ref ${JSON.stringify(this.ref)}`,
        { ref: this.ref, expected: total, actual: this.offset + bytes },
      );
    }
    const engine = this.cfg.engine;
    // In place when the engine can and nothing is queued before these bytes; otherwise the
    // engine may hash a copy on another thread after we return (the caller may reuse the
    // chunks as soon as we do).
    const from = engine.updateSync ? this.hashNow : undefined;
    let next: HashState | undefined;
    const copy = from ? undefined : this.copyForHash(chunks, bytes);
    let writing: Promise<void> | undefined;
    try {
      writing = chunks.length === 1 ? writeFully(this.data, chunks[0]!, this.offset) : writevFully(this.data, chunks, this.offset);
      if (from) next = engine.updateSync!(from, chunks);
      await writing;
    } catch (err) {
      await writing?.catch(() => {});
      // Keep data exactly as long as what was hashed, so the ingest stays resumable.
      await this.data.truncate(this.offset).catch(() => {});
      throw wrapSystemError(err, `writing ref ${JSON.stringify(this.ref)} at offset ${this.offset}`, { ref: this.ref });
    }
    crashpoint('write:after-data');
    this.offset += bytes;
    this.lastWriteAt = Date.now();
    if (next) {
      this.hashTail = Promise.resolve(next);
      this.hashNow = next;
    } else {
      const data = copy ?? this.copyForHash(chunks, bytes);
      if (!this.stream && this.hashNow && engine.openStream) this.stream = engine.openStream(this.hashNow);
      const stream = this.stream;
      // A stream takes the chunk at once (no wait for the previous state); the pool only
      // once the previous update is back.
      this.setHash(stream ? stream.push(data) : this.hashTail.then((s) => engine.update(s, data)));
      this.inflight.push(this.hashTail.catch(() => {}));
    }
    // Wait for the oldest task only, so the pipeline never drains completely.
    if (this.inflight.length >= MAX_HASH_INFLIGHT) await this.inflight.shift();
    if (
      !this.pendingCheckpoint &&
      (this.offset - this.lastCheckpointOffset >= this.checkpointEvery() ||
        (Date.now() - this.lastCheckpointAt >= this.cfg.checkpointMs && this.offset > this.lastCheckpointOffset))
    ) {
      // In the background: its fdatasync must not stall the write pipeline. A failed
      // checkpoint only costs re-hashing on resume.
      this.lastCheckpointAt = Date.now();
      this.pendingCheckpoint = this.checkpoint()
        .catch(() => {})
        .finally(() => (this.pendingCheckpoint = undefined));
    }
  }

  /**
   * Bytes between checkpoints. A state that cannot be saved (node:crypto) makes a checkpoint
   * a plain fdatasync, early writeback only: done more often (still in the background), the
   * disk works while data arrives instead of all at the commit.
   */
  private checkpointEvery(): number {
    const s = this.hashNow;
    return s && !compatible(s, s.alg) ? Math.min(WRITEBACK_BYTES, this.cfg.checkpointBytes) : this.cfg.checkpointBytes;
  }

  private async settleCheckpoint(): Promise<void> {
    while (this.pendingCheckpoint) await this.pendingCheckpoint;
  }

  /** Ends this ingest's hashing thread (its pending updates fail: call after the last is awaited). */
  private endStream(): void {
    this.stream?.end();
    this.stream = undefined;
  }

  private copyForHash(chunks: readonly Uint8Array[], bytes: number): Uint8Array {
    const i = this.ringNext;
    this.ringNext = (i + 1) % (MAX_HASH_INFLIGHT + 1);
    let slot = this.ring[i];
    if (!slot || slot.byteLength < bytes) {
      // Grow to the next MiB so chunks of varying size keep reusing the slot. Shared memory:
      // a hashing thread reads the slot itself, no second copy (it is reused only after its
      // update settled: one slot more than the updates allowed in flight).
      slot = new Uint8Array(new SharedArrayBuffer(Math.ceil(bytes / (1 << 20)) * (1 << 20)));
      this.ring[i] = slot;
    }
    let at = 0;
    for (const c of chunks) {
      slot.set(c, at);
      at += c.byteLength;
    }
    return slot.subarray(0, bytes);
  }

  /** Saves the hash state at the current offset (data made durable first). */
  private async checkpoint(final = false): Promise<void> {
    const s = await this.hashTail;
    // A state this build cannot load again (node:crypto) is not saved. Its data is flushed
    // all the same (in the background, as any checkpoint): early writeback, so that the
    // commit's own fdatasync, which stays, has at most a checkpoint's worth left to write
    // instead of the whole blob.
    if (!compatible(s, s.alg)) {
      if (!final) await this.data.datasync();
      this.lastCheckpointOffset = s.offset;
      this.lastCheckpointAt = Date.now();
      if (final) await this.writeRecord({ writing: false });
      return;
    }
    await this.data.datasync();
    const cp: Checkpoint = { offset: s.offset, alg: s.alg, build: s.build, state: s.state, tailCrc: await tailCrc(this.data, s.offset) };
    // A checkpoint inherited from a prefix not yet verified stays unverified: the next
    // resume verifies it again (it covers the same prefix).
    await this.writeRecord({ checkpoint: cp, ...(final ? { writing: false } : {}) });
    this.lastCheckpointOffset = s.offset;
    this.lastCheckpointAt = Date.now();
    diag.ingestCheckpoint.publish({ ref: this.ref, offset: s.offset });
  }

  private async writeRecord(change: Partial<StatusRecord>): Promise<void> {
    this.record = { ...this.record, updatedAt: Date.now(), ...change };
    await this.statusFile.write(this.record);
  }

  async digest(): Promise<string> {
    return this.cfg.engine.digest(await this.hashTail);
  }

  async status(): Promise<Status> {
    return {
      ref: this.ref,
      offset: this.offset,
      total: this.record.total,
      expected: this.record.expected,
      startedAt: new Date(this.record.startedAt),
      updatedAt: new Date(Math.max(this.record.updatedAt, this.lastWriteAt)),
      owner: this.record.owner,
      state: 'active',
    };
  }

  /** Discards data, hash and checkpoint, keeping the ref. */
  private async restart(): Promise<void> {
    await this.prefixCheck?.cancel();
    this.prefixCheck = undefined;
    await this.settleCheckpoint();
    await this.hashTail.catch(() => {});
    this.endStream();
    this.inflight = [];
    // Drop the checkpoint before the data it describes, so a crash in between never pairs
    // an old hash state with new bytes.
    await this.writeRecord({ checkpoint: undefined });
    await this.data.truncate(0);
    this.offset = 0;
    this.lastWriteAt = Date.now();
    this.lastCheckpointOffset = 0;
    this.setHash(this.cfg.engine.init(this.record.alg));
  }

  async truncate(size: number): Promise<void> {
    this.assertOpen('truncate');
    if (size !== 0) {
      throw invalidArgument('ERR_INVALID_TRUNCATE', `truncate to ${size} is not supported (only 0)`, { ref: this.ref, actual: size });
    }
    await this.restart();
  }

  async commit(options: CommitOptions = {}): Promise<string> {
    this.assertOpen('commit');
    const ref = this.ref;
    let published = false;
    try {
      await this.settleCheckpoint();
      const size = options.size ?? this.record.total;
      if (size !== undefined && size !== this.offset) {
        throw failedPrecondition('ERR_SIZE_MISMATCH', `unexpected commit size ${this.offset}, expected ${size} (ref ${JSON.stringify(ref)})`, {
          ref,
          expected: size,
          actual: this.offset,
        });
      }
      // A resumed prefix must be proven before its digest is believed.
      await this.checkPrefix(true);
      const expected = options.expected !== undefined ? parseDigest(options.expected).digest : this.record.expected;
      let digest = await this.digest();
      if (expected && parseDigest(expected).algorithm !== this.record.alg) {
        const engine = this.cfg.engine;
        digest = await engine.digest(await hashRange(engine, this.data, await engine.init(parseDigest(expected).algorithm), 0, this.offset));
      }
      if (expected && expected !== digest) {
        throw failedPrecondition('ERR_DIGEST_MISMATCH', `unexpected commit digest ${digest}, expected ${expected} (ref ${JSON.stringify(ref)})`, {
          ref,
          expected,
          actual: digest,
        });
      }
      // The bytes must be on disk before the name that promises them.
      await this.data.datasync();
      crashpoint('commit:after-fsync');
      // Our file holds exactly what we wrote and hashed; a size that moved means someone
      // else wrote into it, and its bytes can no longer be vouched for.
      const st = await this.data.stat();
      if (st.size !== this.offset) {
        throw dataLoss('ERR_DATA_CHANGED', `data of ref ${JSON.stringify(ref)} changed under its writer: ${st.size} bytes on disk, ${this.offset} written`, {
          ref,
          expected: this.offset,
          actual: st.size,
        });
      }
      await this.lock.verify();
      await this.data.chmod(0o444);
      // A blob's createdAt (its mtime) is its commit time, not the time of its last write.
      const now = new Date();
      await this.data.utimes(now, now);
      try {
        await publish(this.cfg.trust, {
          ref,
          digest,
          dataPath: this.paths.data,
          data: this.data,
          scratchDir: ingestRoot(this.cfg.root),
          target: blobPath(this.cfg.root, digest),
        });
      } catch (err) {
        if (isKind(err, 'AlreadyExists')) {
          published = true; // the content is there; our ingest is done either way
          await this.finish();
        }
        throw err;
      }
      published = true;
      crashpoint('commit:after-link');
      // The new directory entry must survive a crash before success is reported.
      await syncDir(dirname(blobPath(this.cfg.root, digest)));
      crashpoint('commit:before-cleanup');
      await this.finish();
      diag.ingestCommit.publish({ ref, digest, size: this.offset });
      return digest;
    } catch (err) {
      const e = wrapSystemError(err, `committing ref ${JSON.stringify(ref)}`, { ref });
      if (isKind(e, 'LockCompromised')) this.lock.lose(e.message);
      if (this.state === 'open') {
        if (published) await this.finish().catch(() => {});
        else {
          // Our own file (never published: it has one name): writable again for a resume.
          await this.data.chmod(this.cfg.trust.fileMode).catch(() => {});
          await this.release(true);
        }
      }
      throw e;
    }
  }

  /** Removes the ingest (ours only) and releases the ref (after success or AlreadyExists). */
  private async finish(): Promise<void> {
    this.state = 'committed';
    this.endStream();
    await this.prefixCheck?.cancel();
    await this.data.close().catch(() => {});
    await this.statusFile.close().catch(() => {});
    if (this.lock.held) await removeIngestDir(this.paths.dir, this.dirId, ingestRoot(this.cfg.root)).catch(() => {});
    await this.lock.release();
  }

  /**
   * Closes files and releases the ref. The record says the files are closed (the next writer
   * may continue them in place) and, with `saveCheckpoint`, carries the hash state for an
   * O(1) resume. A writer that lost its lock writes nothing.
   */
  private async release(saveCheckpoint: boolean): Promise<void> {
    this.state = 'closed';
    try {
      // A prefix found corrupt is dropped now, so the next writer starts clean.
      if (this.prefixCheck?.failure && isKind(this.prefixCheck.failure, 'DataLoss') && !this.lock.compromised) {
        await this.restart().catch(() => {});
      }
      await this.prefixCheck?.cancel();
      this.prefixCheck = undefined;
      await this.settleCheckpoint();
      if (!this.lock.compromised) {
        try {
          if (!saveCheckpoint) throw new Error('no checkpoint wanted');
          await this.checkpoint(true);
        } catch {
          await this.writeRecord({ checkpoint: undefined, writing: false }).catch(() => {});
        }
      }
    } finally {
      this.endStream();
      await this.data.close().catch(() => {});
      await this.statusFile.close().catch(() => {});
      await this.lock.release();
    }
  }

  async close(): Promise<void> {
    if (this.state !== 'open') return;
    await this.release(true);
  }

  /** @internal for tests and diagnostics */
  get lockError(): ContentError | undefined {
    return this.lock.compromised;
  }
}

