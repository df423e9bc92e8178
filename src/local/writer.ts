/**
 * The write transaction of one ingest (DESIGN §3). A LocalWriter exists only while it holds
 * the ref lock; every way out (commit success or failure, close) releases it.
 *
 * Data path: write() puts the caller's bytes on disk at the current offset, then queues a
 * copy for hashing (a worker hashes chunk n while the next write() goes to disk). The hash
 * queue is bounded, so memory stays bounded. Hashing strictly follows the disk: a chunk is
 * hashed only after it was written, so a failed write never leaves hash and data apart.
 *
 * Checkpoints: every `checkpointBytes` or `checkpointMs`, and at close, the hash state is
 * saved into the status record, after an fdatasync of data — a checkpoint never covers
 * bytes that a power loss could take back. Reopening hashes only the data past it.
 */
import { link, mkdir, rm, rmdir, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { CommitOptions, Status, Writer, WriterOptions } from '../content/types.js';
import { parseAlgorithm, parseDigest, type Algorithm } from '../digest.js';
import {
  alreadyExists,
  failedPrecondition,
  invalidArgument,
  wrapSystemError,
  type ContentError,
} from '../errors.js';
import { compatible } from '../hash/wasm.js';
import type { HashEngine, HashState } from '../hash/types.js';
import { diag } from '../diagnostics.js';
import { crashpoint } from '../testing/crashpoint.js';
import { syncDir } from './fsync.js';
import { hashRange, MAX_HASH_INFLIGHT, openData, tailCrc, writeFully } from './ingest-io.js';
import { tryLock, waitLock, type LockOptions, type RefLock } from './lock.js';
import { currentOwner } from './owner.js';
import { blobPath, ingestPaths, type IngestPaths } from './paths.js';
import { MAX_REF_BYTES, StatusFile, type Checkpoint, type StatusRecord } from './status-file.js';

export interface WriterConfig {
  root: string;
  engine: HashEngine;
  lock: LockOptions;
  checkpointBytes: number;
  checkpointMs: number;
  /** True when `path` exists as a committed blob. */
  exists(digest: string): Promise<boolean>;
}

type State = 'open' | 'committed' | 'closed';

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

export class LocalWriter implements Writer {
  private state: State = 'open';
  private hashTail: Promise<HashState>;
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

  private constructor(
    readonly ref: string,
    private readonly cfg: WriterConfig,
    private readonly paths: IngestPaths,
    private readonly lock: RefLock,
    private readonly data: FileHandle,
    private readonly statusFile: StatusFile,
    private record: StatusRecord,
    private offset: number,
    hash: Promise<HashState>,
  ) {
    this.hashTail = hash;
    // A rejected hash surfaces at the next digest/commit; never as an unhandled rejection.
    hash.catch(() => {});
  }

  static async open(cfg: WriterConfig, opts: WriterOptions): Promise<LocalWriter> {
    const { alg, expected } = validateWriterOptions(opts);
    const ref = opts.ref;
    const present = () =>
      alreadyExists('ERR_BLOB_EXISTS', `content with digest ${expected} already exists`, { ref, digest: expected });
    if (expected && (await cfg.exists(expected))) throw present();

    // ingest/ itself is created by tryLock when missing (its lock lives there).
    const paths = ingestPaths(cfg.root, ref);
    const wait = opts.wait === true ? Infinity : typeof opts.wait === 'number' ? opts.wait : 0;
    const lock = wait > 0 ? await waitLock(ref, paths, cfg.lock, wait, opts.signal) : await tryLock(ref, paths, cfg.lock);

    let data: FileHandle | undefined;
    let statusFile: StatusFile | undefined;
    try {
      // Whoever held the ref before us may have committed the content we want.
      if (expected && (await cfg.exists(expected))) throw present();
      await mkdir(paths.dir, { recursive: true });
      const opened = await openData(paths.data);
      data = opened.fh;
      const size = opened.size;
      const status = await StatusFile.open(paths.status);
      statusFile = status.file;
      const prev = status.record?.ref === ref ? status.record : undefined;
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
        // A checkpoint past the end of data, or for another algorithm, can never be used
        // again; keeping it would also hold back new checkpoints until data passed it.
        checkpoint: prev?.checkpoint && prev.checkpoint.offset <= size && prev.checkpoint.alg === alg ? prev.checkpoint : undefined,
      };
      const hash = LocalWriter.resumeHash(cfg.engine, data, alg, size, record.checkpoint);
      const w = new LocalWriter(ref, cfg, paths, lock, data, statusFile, record, size, hash);
      w.lastCheckpointOffset = record.checkpoint?.offset ?? 0;
      await statusFile.write(record);
      diag.ingestOpen.publish({ ref, offset: size, resumed: !!prev });
      return w;
    } catch (err) {
      await data?.close().catch(() => {});
      await statusFile?.close().catch(() => {});
      await lock.release().catch(() => {});
      throw wrapSystemError(err, `opening ingest for ref ${JSON.stringify(ref)}`, { ref });
    }
  }

  /**
   * Rebuilds the hash state for `size` bytes of data: from the checkpoint when it is from
   * this hash build, within the data and matches the data's bytes at its end; else from 0.
   */
  private static async resumeHash(
    engine: HashEngine,
    data: FileHandle,
    alg: Algorithm,
    size: number,
    cp: Checkpoint | undefined,
  ): Promise<HashState> {
    let state: HashState | undefined;
    if (cp && compatible(cp, alg) && cp.offset <= size && (await tailCrc(data, cp.offset)) === cp.tailCrc) {
      state = { alg, build: cp.build, offset: cp.offset, state: cp.state };
    }
    const from = state?.offset ?? 0;
    diag.ingestResume.publish({ alg, size, from, checkpoint: !!state });
    return hashRange(engine, data, state ?? (await engine.init(alg)), from, size);
  }

  private assertOpen(op: string): void {
    if (this.state !== 'open') {
      throw failedPrecondition('ERR_WRITER_CLOSED', `cannot ${op}: writer for ref ${JSON.stringify(this.ref)} is ${this.state}`, {
        ref: this.ref,
      });
    }
    this.lock.check();
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.assertOpen('write');
    if (chunk.byteLength === 0) return;
    // The engine may hash this copy on another thread after we return; the caller may
    // reuse `chunk` as soon as we do.
    const copy = this.copyForHash(chunk);
    try {
      await writeFully(this.data, chunk, this.offset);
    } catch (err) {
      // Keep data exactly as long as what was hashed, so the ingest stays resumable.
      await this.data.truncate(this.offset).catch(() => {});
      throw wrapSystemError(err, `writing ref ${JSON.stringify(this.ref)} at offset ${this.offset}`, { ref: this.ref });
    }
    crashpoint('write:after-data');
    this.offset += chunk.byteLength;
    this.lastWriteAt = Date.now();
    const engine = this.cfg.engine;
    this.hashTail = this.hashTail.then((s) => engine.update(s, copy));
    this.inflight.push(this.hashTail.catch(() => {}));
    // Wait for the oldest task only, so the pipeline never drains completely.
    if (this.inflight.length >= MAX_HASH_INFLIGHT) await this.inflight.shift();
    if (
      !this.pendingCheckpoint &&
      (this.offset - this.lastCheckpointOffset >= this.cfg.checkpointBytes ||
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

  private async settleCheckpoint(): Promise<void> {
    while (this.pendingCheckpoint) await this.pendingCheckpoint;
  }

  private copyForHash(chunk: Uint8Array): Uint8Array {
    const i = this.ringNext;
    this.ringNext = (i + 1) % (MAX_HASH_INFLIGHT + 1);
    let slot = this.ring[i];
    if (!slot || slot.byteLength < chunk.byteLength) {
      // Grow to the next MiB so chunks of varying size keep reusing the slot.
      slot = new Uint8Array(Math.ceil(chunk.byteLength / (1 << 20)) * (1 << 20));
      this.ring[i] = slot;
    }
    const view = slot.subarray(0, chunk.byteLength);
    view.set(chunk);
    return view;
  }

  /** Saves the hash state at the current offset (data made durable first). */
  private async checkpoint(): Promise<void> {
    const s = await this.hashTail;
    // A state this build cannot load again (node:crypto) is not worth an fdatasync.
    if (!compatible(s, s.alg)) {
      this.lastCheckpointOffset = s.offset;
      this.lastCheckpointAt = Date.now();
      return;
    }
    await this.data.datasync();
    const cp: Checkpoint = { offset: s.offset, alg: s.alg, build: s.build, state: s.state, tailCrc: await tailCrc(this.data, s.offset) };
    this.record = { ...this.record, updatedAt: Date.now(), checkpoint: cp };
    await this.statusFile.write(this.record);
    this.lastCheckpointOffset = s.offset;
    this.lastCheckpointAt = Date.now();
    diag.ingestCheckpoint.publish({ ref: this.ref, offset: s.offset });
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

  async truncate(size: number): Promise<void> {
    this.assertOpen('truncate');
    if (size !== 0) {
      throw invalidArgument('ERR_INVALID_TRUNCATE', `truncate to ${size} is not supported (only 0)`, { ref: this.ref, actual: size });
    }
    await this.settleCheckpoint();
    await this.hashTail.catch(() => {});
    this.inflight = [];
    // Drop the checkpoint before the data it describes, so a crash in between never pairs
    // an old hash state with new bytes.
    this.record = { ...this.record, updatedAt: Date.now(), checkpoint: undefined };
    await this.statusFile.write(this.record);
    await this.data.truncate(0);
    this.offset = 0;
    this.lastWriteAt = Date.now();
    this.lastCheckpointOffset = 0;
    this.hashTail = this.cfg.engine.init(this.record.alg);
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
      const expected = options.expected !== undefined ? parseDigest(options.expected).digest : this.record.expected;
      let digest = await this.digest();
      if (expected && parseDigest(expected).algorithm !== this.record.alg) {
        digest = await this.cfg.engine.digest(await hashRange(this.cfg.engine, this.data, await this.cfg.engine.init(parseDigest(expected).algorithm), 0, this.offset));
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
      await this.data.chmod(0o444);
      // A blob's createdAt (its mtime) is its commit time, not the time of its last write.
      const now = new Date();
      await this.data.utimes(now, now);
      const target = blobPath(this.cfg.root, digest);
      try {
        // link() never replaces an existing name: concurrent commits of one digest are safe.
        await link(this.paths.data, target).catch(async (err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOENT') throw err;
          // The first blob of this algorithm (or blobs/ was removed): create the directory.
          await mkdir(dirname(target), { recursive: true });
          await link(this.paths.data, target);
        });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
          await this.finish();
          throw alreadyExists('ERR_BLOB_EXISTS', `content with digest ${digest} already exists`, { ref, digest });
        }
        throw err;
      }
      published = true;
      crashpoint('commit:after-link');
      // The new directory entry must survive a crash before we report success.
      await syncDir(dirname(target));
      crashpoint('commit:before-cleanup');
      await this.finish();
      diag.ingestCommit.publish({ ref, digest, size: this.offset });
      return digest;
    } catch (err) {
      const e = wrapSystemError(err, `committing ref ${JSON.stringify(ref)}`, { ref });
      if (this.state === 'open') {
        if (published) await this.finish().catch(() => {});
        else await this.data.chmod(0o644).catch(() => {});
        await this.release(!published);
      }
      throw e;
    }
  }

  /** Removes the ingest and releases the ref (after success or AlreadyExists). */
  private async finish(): Promise<void> {
    this.state = 'committed';
    await this.data.close().catch(() => {});
    await this.statusFile.close().catch(() => {});
    // The ingest dir holds exactly data and status: three unlinks, no directory walk.
    await Promise.all([rm(this.paths.data, { force: true }), rm(this.paths.status, { force: true })]);
    await rmdir(this.paths.dir).catch(() => rm(this.paths.dir, { recursive: true, force: true }));
    await this.lock.release();
  }

  /** Closes files and releases the ref, saving a checkpoint for a later resume. */
  private async release(saveCheckpoint: boolean): Promise<void> {
    this.state = 'closed';
    try {
      await this.settleCheckpoint();
      if (saveCheckpoint && !this.lock.compromised) {
        await this.checkpoint().catch(async () => {
          this.record = { ...this.record, updatedAt: Date.now(), checkpoint: undefined };
          await this.statusFile.write(this.record).catch(() => {});
        });
      }
    } finally {
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
