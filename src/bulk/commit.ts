/**
 * Whole-file ingest inside a worker, keeping the store's durability contract (DESIGN §3
 * Commit) without a writer or ref lock — the blob name is the content's digest, so
 * concurrent adders of the same content race only on link(), which never overwrites:
 *
 *   read → hash → write to ingest/.add-<random> (created 0444) → fsync → link into
 *   blobs/<alg>/<hex> (EEXIST → already present) → unlink the temp.
 *
 * The source is read once and hashed as it is copied, so what lands in the store is what
 * was hashed. A file that fits in one chunk is hashed before anything is written: if its
 * blob exists, nothing is written at all (no fsync for duplicates). The caller fsyncs each
 * blob directory in `dirty` before reporting any file of the batch (one fsync per batch).
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, constants, fchmodSync, fsyncSync, linkSync, lstatSync, mkdirSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { formatDigest, type Algorithm } from '../digest.js';
import type { HashMode } from '../hash/pool.js';
import { failedPrecondition } from '../errors.js';
import { blobPath, ingestRoot } from '../local/paths.js';
import { chunkBuffer, fileHasher, openRegular, readFull } from './file-hash.js';

const TEMP_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL;

function writeAll(fd: number, buf: Uint8Array, length: number): void {
  let off = 0;
  while (off < length) off += writeSync(fd, buf, off, length - off);
}

/** Name of a temp file under ingest/: unknown to the lead's ingest scan (not a 64-hex key). */
export function tempName(): string {
  return `.add-${process.pid}-${threadId}-${randomBytes(6).toString('hex')}`;
}

export interface CommittedFile {
  digest: string;
  size: number;
  existed: boolean;
}

/** How new blob directories are made: the store's mode, set explicitly in a group store. */
export interface DirPolicy {
  dirMode?: number;
  group?: boolean;
}

export async function ingestFileSync(
  root: string,
  path: string,
  alg: Algorithm,
  mode: HashMode,
  dirty: Set<string>,
  dirs: DirPolicy = {},
): Promise<CommittedFile> {
  const h = await fileHasher(alg, mode);
  const buf = chunkBuffer();
  const src = openRegular(path);
  let tmp: string | undefined;
  let out = -1;
  try {
    let n = readFull(src.fd, buf);
    let size = n;
    h.update(buf.subarray(0, n));
    let digest: string;
    if (n < buf.length) {
      // Whole file in memory: know the digest before writing anything.
      digest = formatDigest(alg, h.hex());
      const target = blobPath(root, digest);
      if (lstatSync(target, { throwIfNoEntry: false })?.isFile()) return { digest, size, existed: true };
      ({ tmp, out } = openTemp(root, dirs));
      writeAll(out, buf, n);
    } else {
      ({ tmp, out } = openTemp(root, dirs));
      writeAll(out, buf, n);
      while ((n = readFull(src.fd, buf)) > 0) {
        h.update(buf.subarray(0, n));
        writeAll(out, buf, n);
        size += n;
      }
      digest = formatDigest(alg, h.hex());
    }
    fsyncSync(out);
    closeSync(out);
    out = -1;
    const target = blobPath(root, digest);
    let existed = false;
    try {
      inDir(dirname(target), dirs, () => {
        realDir(dirname(target));
        linkSync(tmp!, target);
      });
      dirty.add(dirname(target));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      existed = true;
    }
    return { digest, size, existed };
  } finally {
    closeSync(src.fd);
    if (out >= 0) closeSync(out);
    if (tmp) {
      try {
        unlinkSync(tmp);
      } catch {
        // best effort: an orphaned .add-* temp is debris the store's prune removes
      }
    }
  }
}

function openTemp(root: string, dirs: DirPolicy): { tmp: string; out: number } {
  const dir = ingestRoot(root);
  const tmp = join(dir, tempName());
  // O_EXCL never follows a symlink at the name. Created read-only (the open fd may still
  // write, and no chmod is needed before link()), and set to 0444 explicitly: blobs are
  // 0444 whatever the umask, as committed ingests are.
  const out = inDir(dir, dirs, () => openSync(tmp, TEMP_FLAGS, 0o444));
  fchmodSync(out, 0o444);
  return { tmp, out };
}

/** Refuses to link into anything but a real directory (a symlink there is not followed). */
function realDir(dir: string): void {
  const st = lstatSync(dir);
  if (!st.isDirectory()) throw failedPrecondition('ERR_UNTRUSTED_STORE', `refusing to use ${dir}: it is not a directory`, { path: dir });
}

/**
 * Runs `fn` on a name in `dir`; if `dir` does not exist (a new store, the first blob of an
 * algorithm, or removed meanwhile), creates it and runs `fn` once more.
 */
function inDir<T>(dir: string, dirs: DirPolicy, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    const first = mkdirSync(dir, { recursive: true, mode: dirs.dirMode ?? 0o777 });
    // In a group store every directory made here gets the store's mode whatever the umask.
    if (first && dirs.group && dirs.dirMode) {
      for (let d = dir; ; d = dirname(d)) {
        chmodSync(d, dirs.dirMode);
        if (d === first || dirname(d) === d) break;
      }
    }
    return fn();
  }
}

/** fsync a directory so the names linked into it survive a crash. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
