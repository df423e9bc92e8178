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
import { batches, DEFAULT_BATCH, enumerateFiles, type BatchLimits, type FileEntry, type SkipReason } from './enumerate.js';
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
  /** Follow symlinks inside walked directories (default: skip them; see enumerate.ts). */
  followSymlinks?: boolean;
  /** Called for each entry a walk passes over (symlinks not followed, sockets, loops). */
  onSkipped?: (path: string, reason: SkipReason) => void;
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
    const walk = { recursive: options.recursive, followSymlinks: options.followSymlinks, onSkipped: options.onSkipped };
    for await (const e of enumerateFiles(paths, walk)) {
      if (!e.error) options.onFound?.(e.path, e.size);
      yield e;
    }
    options.onEnumerated?.();
  }

  const source = runAhead(batches<Found, Failed>(found(), limits), 2 * concurrency);
  type Done = { id: number; outcomes: IngestFileOutcome[] };
  const inflight = new Map<number, Promise<Done>>();
  let nextId = 0;
  let exhausted = false;
  // The next batch, awaited together with the batches in flight: finished files are
  // reported while the input is slow (paths on a pipe), never held back until it moves.
  let pending: Promise<{ next: Array<Found> | Failed | undefined }> | undefined;
  try {
    for (;;) {
      if (!exhausted && inflight.size < concurrency) pending ??= source.next().then((next) => ({ next }));
      const waits: Array<Promise<Done | { next: Array<Found> | Failed | undefined }>> = [...inflight.values()];
      if (pending) waits.push(pending);
      if (waits.length === 0) break;
      const r = await Promise.race(waits);
      if ('next' in r) {
        pending = undefined;
        const b = r.next;
        if (b === undefined) exhausted = true;
        else if (!Array.isArray(b)) fail(b.path, b.error);
        else {
          const id = nextId++;
          const task: IngestFilesTask = { root: store.root, alg, mode, paths: b.map((f) => f.path), dirMode: trust?.dirMode, group: trust?.group };
          inflight.set(id, pool.run<IngestFileOutcome[]>('ingest-files', () => task).then((outcomes) => ({ id, outcomes })));
        }
        continue;
      }
      inflight.delete(r.id);
      for (const o of r.outcomes) {
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
