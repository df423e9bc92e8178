/**
 * Turns the paths a caller names into the regular files to ingest, with their sizes (for
 * batching and progress totals), and groups them into worker batches.
 */
import { opendir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ContentError, invalidArgument, notFound, wrapSystemError } from '../errors.js';

export type FileEntry = { path: string; size: number; error?: undefined } | { path: string; error: ContentError };

function statError(err: unknown, path: string): ContentError {
  if ((err as NodeJS.ErrnoException).code === 'ENOENT') return notFound('ERR_FILE_NOT_FOUND', `${path}: no such file or directory`, { path });
  return wrapSystemError(err, path, { path });
}

/**
 * Regular files named by `paths`, in order; directories are walked (sorted, depth first)
 * when `recursive`, else reported as InvalidArgument. Inside a walk, symlinks to files are
 * followed and symlinks to directories are not (no cycles); sockets and FIFOs are skipped.
 * Problems come out as entries with an `error` so one bad path does not stop the rest.
 */
export async function* enumerateFiles(paths: Iterable<string> | AsyncIterable<string>, recursive: boolean): AsyncGenerator<FileEntry> {
  for await (const path of paths) {
    let st;
    try {
      st = await stat(path);
    } catch (err) {
      yield { path, error: statError(err, path) };
      continue;
    }
    if (st.isFile()) yield { path, size: st.size };
    else if (st.isDirectory()) {
      if (recursive) yield* walk(path);
      else yield { path, error: invalidArgument('ERR_IS_DIRECTORY', `${path} is a directory (use -r to add its files)`, { path }) };
    } else yield { path, error: invalidArgument('ERR_NOT_A_FILE', `${path} is not a regular file`, { path }) };
  }
}

async function* walk(dir: string): AsyncGenerator<FileEntry> {
  let entries;
  try {
    const names = [];
    for await (const d of await opendir(dir)) names.push(d);
    entries = names.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } catch (err) {
    yield { path: dir, error: statError(err, dir) };
    return;
  }
  for (const d of entries) {
    const path = join(dir, d.name);
    if (d.isDirectory()) {
      yield* walk(path);
    } else if (d.isFile() || d.isSymbolicLink()) {
      try {
        const st = await stat(path);
        if (st.isFile()) yield { path, size: st.size };
      } catch (err) {
        yield { path, error: statError(err, path) };
      }
    }
  }
}

export interface BatchLimits {
  /** Most files in one batch. */
  maxFiles: number;
  /** A batch is closed once it holds this many bytes; a file this big travels alone. */
  maxBytes: number;
}

/** Small files go to workers in batches (one task, one blob-dir fsync); big ones alone. */
export const DEFAULT_BATCH: BatchLimits = Object.freeze({ maxFiles: 32, maxBytes: 1024 * 1024 });

/**
 * Groups sized items into batches. Error entries pass through as batches of their own so
 * they are reported in order with the rest.
 */
export async function* batches<T extends { size: number; error?: undefined }, E extends { error: ContentError }>(
  items: AsyncIterable<T | E>,
  limits: BatchLimits,
): AsyncGenerator<T[] | E> {
  let batch: T[] = [];
  let bytes = 0;
  for await (const item of items) {
    if (item.error) {
      yield item as E;
      continue;
    }
    const it = item as T;
    if (it.size >= limits.maxBytes) {
      yield [it];
      continue;
    }
    batch.push(it);
    bytes += it.size;
    if (batch.length >= limits.maxFiles || bytes >= limits.maxBytes) {
      yield batch;
      batch = [];
      bytes = 0;
    }
  }
  if (batch.length) yield batch;
}
