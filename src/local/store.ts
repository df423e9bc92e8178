/**
 * The local content store: blobs and ingests in one directory tree shared by any number of
 * processes (layout in ./paths.ts). Read paths live here; the write transaction lives in
 * ./writer.ts, ref locks in ./lock.ts, the ingest listing in ./ingests.ts.
 */
import { mkdirSync } from 'node:fs';
import { opendir, open, rm, stat, unlink } from 'node:fs/promises';
import { resolve } from 'node:path';
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
import { defaultEngine } from '../hash/engine.js';
import type { HashEngine } from '../hash/types.js';
import { listIngests, readIngest } from './ingests.js';
import { DEFAULT_LOCK_OPTIONS, tryLock, type LockOptions } from './lock.js';
import { blobPath, blobsDir, ingestPaths } from './paths.js';
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

  constructor(root: string, options: StoreOptions = {}) {
    this.root = resolve(root);
    try {
      mkdirSync(this.root, { recursive: true });
    } catch (err) {
      throw wrapSystemError(err, `creating store root ${this.root}`, { path: this.root });
    }
    this.cfg = {
      root: this.root,
      engine: options.engine ?? defaultEngine(),
      lock: {
        staleMs: options.lock?.staleMs ?? DEFAULT_LOCK_OPTIONS.staleMs,
        updateMs: options.lock?.updateMs ?? Math.max(1000, (options.lock?.staleMs ?? DEFAULT_LOCK_OPTIONS.staleMs) / 4),
      },
      checkpointBytes: options.checkpointBytes ?? 64 * 1024 * 1024,
      checkpointMs: options.checkpointMs ?? 2000,
      exists: (d) => this.exists(d),
    };
  }

  get lockOptions(): LockOptions {
    return this.cfg.lock;
  }

  async exists(digest: string): Promise<boolean> {
    try {
      await stat(blobPath(this.root, digest));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw wrapSystemError(err, `checking ${digest}`, { digest });
    }
  }

  async info(digest: string): Promise<Info> {
    const p = blobPath(this.root, digest);
    try {
      const st = await stat(p);
      return { digest, size: st.size, createdAt: st.mtime };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw blobNotFound(digest, err);
      throw wrapSystemError(err, `reading ${digest}`, { digest });
    }
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
      for await (const entry of dir) {
        const digest = `${alg}:${entry.name}`;
        if (filter.prefix && !digest.startsWith(filter.prefix)) continue;
        if (entry.name.length !== ALGORITHMS[alg] || !/^[0-9a-f]+$/.test(entry.name)) continue; // misnamed: verify reports it
        let info: Info;
        try {
          info = await this.info(digest);
        } catch {
          continue; // deleted while we walked
        }
        if (filter.minSize !== undefined && info.size < filter.minSize) continue;
        if (filter.maxSize !== undefined && info.size > filter.maxSize) continue;
        yield info;
      }
    }
  }

  private async openBlob(digest: string) {
    const p = blobPath(this.root, digest);
    try {
      return await open(p, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw blobNotFound(digest, err);
      throw wrapSystemError(err, `opening ${digest}`, { digest });
    }
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
      await unlink(p);
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
    const s = await readIngest(ingestPaths(this.root, ref), this.cfg.lock);
    if (!s || s.ref !== ref) throw notFound('ERR_INGEST_NOT_FOUND', `no ingest for ref ${JSON.stringify(ref)}`, { ref });
    return s;
  }

  listStatuses(filter: StatusFilter = {}): Promise<Status[]> {
    return listIngests(this.root, this.cfg.lock, filter);
  }

  /** Discards an ingest. Unavailable while another writer holds the ref. */
  async abort(ref: string): Promise<void> {
    if (typeof ref !== 'string' || ref.length === 0) {
      throw invalidArgument('ERR_INVALID_REF', 'ref must be a non-empty string', { ref: String(ref) });
    }
    const paths = ingestPaths(this.root, ref);
    try {
      await stat(paths.dir);
    } catch {
      throw notFound('ERR_INGEST_NOT_FOUND', `no ingest for ref ${JSON.stringify(ref)}`, { ref });
    }
    const lock = await tryLock(ref, paths, this.cfg.lock);
    try {
      await rm(paths.dir, { recursive: true, force: true });
    } finally {
      await lock.release();
    }
  }

  /** Removes idle and stale ingests (see ./prune.ts); never one held by a live owner. */
  prune(options: PruneOptions = {}): Promise<PruneResult> {
    return pruneIngests(this.root, this.cfg.lock, options);
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
