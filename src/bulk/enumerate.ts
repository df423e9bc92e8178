/**
 * Turns the paths a caller names into the regular files to ingest, with their sizes (for
 * batching and progress totals), and groups them into worker batches.
 */
import type { Dirent, Stats } from 'node:fs';
import { lstat, opendir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ContentError, invalidArgument, notFound, wrapSystemError } from '../errors.js';

export type FileEntry = { path: string; size: number; error?: undefined } | { path: string; error: ContentError };

function statError(err: unknown, path: string): ContentError {
  if ((err as NodeJS.ErrnoException).code === 'ENOENT') return notFound('ERR_FILE_NOT_FOUND', `${path}: no such file or directory`, { path });
  return wrapSystemError(err, path, { path });
}

/** Why a walk passed over an entry: a symlink (not followed), a socket/FIFO/device, a directory loop. */
export type SkipReason = 'symlink' | 'special' | 'cycle';

export interface EnumerateOptions {
  /** Walk directories (else a directory operand is InvalidArgument). */
  recursive?: boolean;
  /** Follow symlinks met inside directories, to files and directories (`cp -L`, `tar -h`). */
  followSymlinks?: boolean;
  /** Told of each entry a walk passes over. */
  onSkipped?: (path: string, reason: SkipReason) => void;
}

/**
 * Regular files named by `paths`, in order; directories are walked (sorted, depth first)
 * when `recursive`, else reported as InvalidArgument. The symlink policy is `cp -R`'s and
 * `tar`'s: a path named by the caller is followed (as `cp -H` does), but a symlink met inside
 * a walk is skipped unless `followSymlinks` — so a tree's size is what it holds on disk, and
 * a dangling link inside it is no error. When following, a directory that is its own ancestor
 * (a link loop) is skipped. Sockets, FIFOs and devices inside a walk are skipped.
 * Problems come out as entries with an `error` so one bad path does not stop the rest.
 */
export async function* enumerateFiles(paths: Iterable<string> | AsyncIterable<string>, options: boolean | EnumerateOptions = {}): AsyncGenerator<FileEntry> {
  const opts: EnumerateOptions = typeof options === 'boolean' ? { recursive: options } : options;
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
      if (opts.recursive) yield* walk(path, opts, new Set([dirId(st)]));
      else yield { path, error: invalidArgument('ERR_IS_DIRECTORY', `${path} is a directory (use -r to add its files)`, { path }) };
    } else yield { path, error: invalidArgument('ERR_NOT_A_FILE', `${path} is not a regular file`, { path }) };
  }
}

const dirId = (st: { dev: number; ino: number }) => `${st.dev}:${st.ino}`;

/** `ancestors`: the directories on the path from the operand down to `dir`, by device and inode. */
async function* walk(dir: string, opts: EnumerateOptions, ancestors: Set<string>): AsyncGenerator<FileEntry> {
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
    let kind = kindOf(d);
    if (kind === undefined) {
      // The file system did not say (DT_UNKNOWN): ask it.
      try {
        kind = kindOf(await lstat(path)) ?? 'special';
      } catch (err) {
        yield { path, error: statError(err, path) };
        continue;
      }
    }
    if (kind === 'symlink' && !opts.followSymlinks) {
      opts.onSkipped?.(path, 'symlink');
      continue;
    }
    if (kind === 'special') {
      opts.onSkipped?.(path, 'special');
      continue;
    }
    // Without following links a real directory cannot be its own ancestor: no stat needed.
    if (kind === 'dir' && !opts.followSymlinks) {
      yield* walk(path, opts, ancestors);
      continue;
    }
    let st;
    try {
      st = await stat(path);
    } catch (err) {
      const dangling = kind === 'symlink' && (err as NodeJS.ErrnoException).code === 'ENOENT';
      yield { path, error: dangling ? notFound('ERR_FILE_NOT_FOUND', `${path}: symlink to a missing file`, { path }) : statError(err, path) };
      continue;
    }
    if (st.isFile()) yield { path, size: st.size };
    else if (st.isDirectory()) {
      const id = dirId(st);
      if (ancestors.has(id)) {
        opts.onSkipped?.(path, 'cycle');
        continue;
      }
      ancestors.add(id);
      yield* walk(path, opts, ancestors);
      ancestors.delete(id);
    } else opts.onSkipped?.(path, 'special');
  }
}

type Kind = 'file' | 'dir' | 'symlink' | 'special';

/** What a directory entry or lstat result is; undefined when the file system did not say. */
function kindOf(d: Dirent | Stats): Kind | undefined {
  if (d.isFile()) return 'file';
  if (d.isDirectory()) return 'dir';
  if (d.isSymbolicLink()) return 'symlink';
  if (d.isFIFO() || d.isSocket() || d.isCharacterDevice() || d.isBlockDevice()) return 'special';
  return undefined;
}

export interface BatchLimits {
  /** Most files in one batch. */
  maxFiles: number;
  /** A batch is closed once it holds this many bytes; a file this big travels alone. */
  maxBytes: number;
}

/** Small files go to workers in batches (one task, one blob-dir fsync); big ones alone. */
export const DEFAULT_BATCH: BatchLimits = Object.freeze({ maxFiles: 32, maxBytes: 1024 * 1024 });

/** A partial batch is sent once its input has been quiet this long (paths on a slow pipe). */
const QUIET_MS = 20;

/**
 * Groups sized items into batches. Error entries pass through as batches of their own so
 * they are reported in order with the rest. A partial batch does not wait for more input
 * once the input has been quiet for QUIET_MS: files named slowly still land promptly.
 */
export async function* batches<T extends { size: number; error?: undefined }, E extends { error: ContentError }>(
  items: AsyncIterable<T | E>,
  limits: BatchLimits,
): AsyncGenerator<T[] | E> {
  const it = items[Symbol.asyncIterator]();
  let batch: T[] = [];
  let bytes = 0;
  let pending: Promise<IteratorResult<T | E>> | undefined;
  // One timer per partial batch (not per item): it fires QUIET_MS after the last item came.
  let lastItemAt = 0;
  let quiet: Promise<'quiet'> | undefined;
  let timer: NodeJS.Timeout | undefined;
  const armQuiet = (): Promise<'quiet'> =>
    new Promise((resolve) => {
      const check = () => {
        const left = lastItemAt + QUIET_MS - performance.now();
        timer = left > 0 ? setTimeout(check, left) : (resolve('quiet'), undefined);
      };
      timer = setTimeout(check, QUIET_MS);
    });
  const flush = () => {
    clearTimeout(timer);
    quiet = undefined;
    const b = batch;
    batch = [];
    bytes = 0;
    return b;
  };
  try {
    for (;;) {
      pending ??= it.next();
      const r = batch.length === 0 ? await pending : await Promise.race([pending, (quiet ??= armQuiet())]);
      if (r === 'quiet') {
        yield flush();
        continue;
      }
      pending = undefined;
      if (r.done) break;
      const item = r.value;
      if (item.error) {
        yield item as E;
        continue;
      }
      const f = item as T;
      if (f.size >= limits.maxBytes) {
        yield [f];
        continue;
      }
      lastItemAt = performance.now();
      batch.push(f);
      bytes += f.size;
      if (batch.length >= limits.maxFiles || bytes >= limits.maxBytes) yield flush();
    }
    if (batch.length) yield flush();
  } finally {
    clearTimeout(timer);
    // Stopped early: let the source clean up (close directories, stop reading stdin).
    if (pending === undefined) await it.return?.();
  }
}
