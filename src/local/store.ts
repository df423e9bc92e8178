/**
 * The local content store: blobs and ingests in one directory tree shared by any number of
 * processes (layout in ./paths.ts). Read paths live here; the write transaction lives in
 * ./writer.ts, ref locks in ./lock.ts, the ingest listing in ./ingests.ts.
 */
import { constants, existsSync } from 'node:fs';
import { lstat, opendir, open, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import type {
  Info,
  ReadStreamOptions,
  ReaderAt,
  Status,
  StatusFilter,
  Store,
  WalkFilter,
  Writer,
  WriterOptions,
} from '../content/types.js';
import { ALGORITHMS, parseAlgorithm, type Algorithm } from '../digest.js';
import { invalidArgument, notFound, wrapSystemError } from '../errors.js';
import { defaultEngine, defaultPool } from '../hash/engine.js';
import type { HashEngine } from '../hash/types.js';
import { listIngests, readIngest } from './ingests.js';
import { DEFAULT_LOCK_OPTIONS, tryLock, type LockOptions } from './lock.js';
import { blobPath, blobsDir, ingestPaths, ingestRoot } from './paths.js';
import { removeIngestDir } from './publish.js';
import { idOf } from './safe-fs.js';
import { labelsDir, readLabels, removeLabels, updateLabels } from './labels.js';
import { checkTree, loadTrust, type TrustPolicy } from './trust.js';
import { pruneIngests, type PruneOptions, type PruneResult } from './prune.js';
import { LocalWriter, type WriterConfig } from './writer.js';

export interface StoreOptions {
  /** Hash engine for streamed ingests (default: inline for small chunks, worker pool for large). */
  engine?: HashEngine;
  lock?: Partial<LockOptions>;
  /** Save the hash state every this many bytes (default 64 MiB)… */
  checkpointBytes?: number;
  /** …or this often while writing (default 2 s), and at close. */
  checkpointMs?: number;
  /**
   * Create the root when it is missing (default true). Read-only users pass false: a
   * missing root is then NotFound instead of an empty store made by a typo.
   */
  create?: boolean;
}

/** What `abort` may do to a ref held by another process. */
export interface AbortOptions {
  /**
   * Take the ref over even from a live holder (one stopped, or hung): the operator's
   * explicit action. The holder's later writes land in files nobody publishes, and its
   * commit fails with LockCompromised.
   */
  force?: boolean;
}

function blobNotFound(digest: string, cause?: unknown) {
  return Object.assign(notFound('ERR_BLOB_NOT_FOUND', `content ${digest} not found`, { digest }), cause ? { cause } : {});
}

function nonNegativeInt(v: unknown, what: string): number | undefined {
  if (v === undefined) return undefined;
  if (!(Number.isSafeInteger(v) && (v as number) >= 0)) {
    throw invalidArgument('ERR_INVALID_RANGE', `${what} must be a non-negative integer, got ${String(v)}`, { actual: String(v) });
  }
  return v as number;
}

export class LocalStore implements Store {
  readonly root: string;
  private readonly cfg: WriterConfig;

  readonly trust: TrustPolicy;

  constructor(root: string, options: StoreOptions = {}) {
    if (typeof root !== 'string' || root.length === 0) {
      throw invalidArgument('ERR_INVALID_ROOT', 'store root must be a non-empty path', { path: String(root) });
    }
    this.root = resolve(root);
    this.trust = loadTrust(this.root, options.create ?? true);
    checkTree(this.trust, Object.keys(ALGORITHMS));
    const staleMs = options.lock?.staleMs ?? DEFAULT_LOCK_OPTIONS.staleMs;
    this.cfg = {
      root: this.root,
      trust: this.trust,
      engine: options.engine ?? defaultEngine(),
      pool: defaultPool,
      lock: { staleMs, updateMs: options.lock?.updateMs ?? Math.max(1000, staleMs / 4) },
      checkpointBytes: options.checkpointBytes ?? 64 * 1024 * 1024,
      checkpointMs: options.checkpointMs ?? 2000,
      exists: (d) => this.exists(d),
    };
  }

  get lockOptions(): LockOptions {
    return this.cfg.lock;
  }

  /** True when `digest` is stored (a regular file at its path; a symlink there is not a blob). */
  async exists(digest: string): Promise<boolean> {
    try {
      return (await lstat(blobPath(this.root, digest))).isFile();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw wrapSystemError(err, `checking ${digest}`, { digest });
    }
  }

  async info(digest: string): Promise<Info> {
    const p = blobPath(this.root, digest);
    let st;
    try {
      st = await lstat(p);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw blobNotFound(digest, err);
      throw wrapSystemError(err, `reading ${digest}`, { digest });
    }
    if (!st.isFile()) throw blobNotFound(digest);
    return { digest, size: st.size, createdAt: st.mtime, labels: readLabels(this.root, digest) };
  }

  async update(digest: string, change: { labels?: Record<string, string> }, fieldpaths?: string[]): Promise<Info> {
    await this.info(digest); // NotFound before anything is written
    const labels = await updateLabels(this.trust, this.cfg.lock, digest, change?.labels ?? {}, fieldpaths);
    return { ...(await this.info(digest)), labels };
  }

  async *walk(filter: WalkFilter = {}): AsyncGenerator<Info> {
    const algs: Algorithm[] = filter.algorithm ? [parseAlgorithm(filter.algorithm)] : (Object.keys(ALGORITHMS) as Algorithm[]);
    for (const alg of algs) {
      let dir;
      try {
        dir = await opendir(blobsDir(this.root, alg));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw wrapSystemError(err, 'walking blobs');
      }
      // Most stores label few blobs: look for records only where some exist.
      const labelled = existsSync(labelsDir(this.root, alg));
      for await (const entry of dir) {
        const digest = `${alg}:${entry.name}`;
        if (filter.prefix && !digest.startsWith(filter.prefix)) continue;
        if (entry.name.length !== ALGORITHMS[alg] || !/^[0-9a-f]+$/.test(entry.name)) continue; // misnamed: verify reports it
        let info: Info;
        try {
          const st = await lstat(join(blobsDir(this.root, alg), entry.name));
          if (!st.isFile()) continue;
          info = { digest, size: st.size, createdAt: st.mtime, labels: labelled ? readLabels(this.root, digest) : {} };
        } catch {
          continue; // deleted while we walked
        }
        if (filter.minSize !== undefined && info.size < filter.minSize) continue;
        if (filter.maxSize !== undefined && info.size > filter.maxSize) continue;
        yield info;
      }
    }
  }

  /** Opens a blob for reading: never through a symlink, only a regular file. */
  private async openBlob(digest: string) {
    const p = blobPath(this.root, digest);
    let fh;
    try {
      fh = await open(p, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ELOOP') throw blobNotFound(digest, err);
      throw wrapSystemError(err, `opening ${digest}`, { digest });
    }
    if (!(await fh.stat()).isFile()) {
      await fh.close();
      throw blobNotFound(digest);
    }
    return fh;
  }

  async readerAt(digest: string): Promise<ReaderAt> {
    const fh = await this.openBlob(digest);
    const { size } = await fh.stat();
    return {
      size,
      async read(position: number, length: number): Promise<Buffer> {
        nonNegativeInt(position, 'position');
        nonNegativeInt(length, 'length');
        const n = Math.max(0, Math.min(length, size - position));
        const buf = Buffer.alloc(n);
        let got = 0;
        while (got < n) {
          const { bytesRead } = await fh.read(buf, got, n - got, position + got);
          if (bytesRead === 0) break;
          got += bytesRead;
        }
        return got === n ? buf : buf.subarray(0, got);
      },
      close: () => fh.close(),
    };
  }

  async createReadStream(digest: string, options: ReadStreamOptions = {}): Promise<Readable> {
    const start = nonNegativeInt(options.start, 'start');
    const end = nonNegativeInt(options.end, 'end');
    const fh = await this.openBlob(digest);
    return fh.createReadStream({ start, end, autoClose: true });
  }

  async path(digest: string): Promise<string> {
    await this.info(digest);
    return blobPath(this.root, digest);
  }

  async delete(digest: string): Promise<void> {
    const p = blobPath(this.root, digest);
    try {
      // Only a blob: a symlink or directory at the name is not ours to delete through.
      if (!(await lstat(p)).isFile()) throw blobNotFound(digest);
      await unlink(p);
      await removeLabels(this.root, digest);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw blobNotFound(digest, err);
      throw wrapSystemError(err, `deleting ${digest}`, { digest });
    }
  }

  writer(options: WriterOptions): Promise<Writer> {
    return LocalWriter.open(this.cfg, options);
  }

  async status(ref: string): Promise<Status> {
    if (typeof ref !== 'string' || ref.length === 0) {
      throw invalidArgument('ERR_INVALID_REF', 'ref must be a non-empty string', { ref: String(ref) });
    }
    const s = await readIngest(ingestPaths(this.root, ref), this.cfg.lock, undefined, ref);
    if (!s || s.ref !== ref) throw notFound('ERR_INGEST_NOT_FOUND', `no ingest for ref ${JSON.stringify(ref)}`, { ref });
    return s;
  }

  listStatuses(filter: StatusFilter = {}): Promise<Status[]> {
    return listIngests(this.root, this.cfg.lock, filter);
  }

  /**
   * Discards an ingest. Unavailable while another writer holds the ref, unless forced
   * (AbortOptions.force): its directory is then removed from under the holder, whose
   * descriptors keep only files nobody will publish.
   */
  async abort(ref: string, options: AbortOptions = {}): Promise<void> {
    if (typeof ref !== 'string' || ref.length === 0) {
      throw invalidArgument('ERR_INVALID_REF', 'ref must be a non-empty string', { ref: String(ref) });
    }
    const paths = ingestPaths(this.root, ref);
    const dir = await lstat(paths.dir).catch(() => undefined);
    // A writer between taking the lock and making its directory has an ingest too.
    const lockSt = dir ? undefined : await lstat(paths.lock).catch(() => undefined);
    if (!dir && !lockSt) throw notFound('ERR_INGEST_NOT_FOUND', `no ingest for ref ${JSON.stringify(ref)}`, { ref });
    const lock = await tryLock(ref, paths, this.cfg.lock, { force: options.force, fileMode: this.trust.fileMode });
    try {
      // The directory judged above, by identity: not one a writer made after us.
      const now = await lstat(paths.dir).catch(() => undefined);
      if (now) await removeIngestDir(paths.dir, idOf(now), ingestRoot(this.root));
    } finally {
      await lock.release();
    }
  }

  /** Removes idle and stale ingests (see ./prune.ts); never one held by a live owner. */
  prune(options: PruneOptions = {}): Promise<PruneResult> {
    return pruneIngests(this.root, this.cfg.lock, options, this.trust);
  }

  /**
   * Ends use of the store. An engine passed in options belongs to the caller; the shared
   * default engine's pool is closed by closeDefaultEngine() (the CLI does so on exit).
   */
  async close(): Promise<void> {}
}

export function openStore(root: string, options?: StoreOptions): LocalStore {
  return new LocalStore(root, options);
}
