/**
 * Bulk ingest of local files: each worker reads, hashes, writes and commits whole files
 * (src/bulk/commit.ts), small files in batches of up to 32 files / 1 MiB per task (one task
 * round trip and one blob-dir fsync per batch), files of 1 MiB or more alone. Identical
 * files are stored once: the second link() of a name fails with EEXIST and reports
 * `existed: true`.
 */
import { parseAlgorithm, type Algorithm } from '../digest.js';
import { ContentError, fromWire } from '../errors.js';
import { defaultPool, fileHashMode } from '../hash/engine.js';
import type { HashMode, HashPool } from '../hash/pool.js';
import type { Store } from '../content/types.js';
import { batches, DEFAULT_BATCH, enumerateFiles, type BatchLimits, type FileEntry } from './enumerate.js';
import { runAhead } from './run-ahead.js';
import type { IngestFileOutcome, IngestFilesTask } from './tasks.js';

export interface IngestedFile {
  path: string;
  digest: string;
  size: number;
  /** The content was already in the store (nothing was written). */
  existed: boolean;
}

export interface IngestFilesOptions {
  /** Batches in flight (default 2 × pool threads, so no worker waits between tasks). */
  concurrency?: number;
  /** Walk directories (else a directory is an InvalidArgument error). */
  recursive?: boolean;
  /** `native` (node:crypto) or `wasm`; default native for sha256/sha512, wasm for blake3. */
  hash?: HashMode | 'auto';
  algorithm?: Algorithm;
  /** Default: the process-wide pool (src/hash/engine.ts). */
  pool?: HashPool;
  batch?: Partial<BatchLimits>;
  /**
   * Called for a file that cannot be ingested; ingest goes on. Without it the first such
   * error is thrown (files yielded before it are committed).
   */
  onError?: (path: string, error: ContentError) => void;
  /** Called as files are found (before they are ingested): for progress totals. */
  onFound?: (path: string, size: number) => void;
  /** Called once every input path has been enumerated. */
  onEnumerated?: () => void;
}

type Found = Extract<FileEntry, { size: number }>;
type Failed = Extract<FileEntry, { error: ContentError }>;

export async function* ingestFiles(
  store: Pick<Store, 'root'>,
  paths: Iterable<string> | AsyncIterable<string>,
  options: IngestFilesOptions = {},
): AsyncGenerator<IngestedFile> {
  const alg = parseAlgorithm(options.algorithm ?? 'sha256');
  const trust = (store as { trust?: { dirMode: number; group: boolean } }).trust;
  const mode = fileHashMode(alg, options.hash);
  const pool = options.pool ?? defaultPool();
  const concurrency = Math.max(1, options.concurrency ?? 2 * pool.threads);
  const limits: BatchLimits = { ...DEFAULT_BATCH, ...options.batch };
  const fail = (path: string, error: ContentError) => {
    if (!options.onError) throw error;
    options.onError(path, error);
  };

  async function* found(): AsyncGenerator<FileEntry> {
    for await (const e of enumerateFiles(paths, options.recursive ?? false)) {
      if (!e.error) options.onFound?.(e.path, e.size);
      yield e;
    }
    options.onEnumerated?.();
  }

  const source = runAhead(batches<Found, Failed>(found(), limits), 2 * concurrency);
  const inflight = new Map<number, Promise<{ id: number; outcomes: IngestFileOutcome[] }>>();
  let nextId = 0;
  let exhausted = false;
  try {
    for (;;) {
      while (!exhausted && inflight.size < concurrency) {
        const b = await source.next();
        if (b === undefined) {
          exhausted = true;
          break;
        }
        if (!Array.isArray(b)) {
          fail(b.path, b.error);
          continue;
        }
        const id = nextId++;
        const task: IngestFilesTask = { root: store.root, alg, mode, paths: b.map((f) => f.path), dirMode: trust?.dirMode, group: trust?.group };
        inflight.set(id, pool.run<IngestFileOutcome[]>('ingest-files', () => task).then((outcomes) => ({ id, outcomes })));
      }
      if (inflight.size === 0) break;
      const { id, outcomes } = await Promise.race(inflight.values());
      inflight.delete(id);
      for (const o of outcomes) {
        if (o.error) fail(o.path, fromWire(o.error));
        else yield { path: o.path, digest: o.digest, size: o.size, existed: o.existed };
      }
    }
  } finally {
    source.stop();
    // Stopped early (break or error): let in-flight batches finish quietly — each commits
    // whole files or nothing, so the store stays consistent.
    for (const p of inflight.values()) p.catch(() => {});
  }
}
