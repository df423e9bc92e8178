/**
 * File access inside the store by identity, never by a name someone else may have replaced:
 *
 * - Records (status, owner, guard) are read only from regular files: O_NOFOLLOW (a planted
 *   symlink is not followed), O_NONBLOCK (a planted FIFO never blocks the reader), fstat on
 *   the descriptor actually opened, and a size cap (a huge file costs one bounded read).
 * - A file is "the same" when device, inode and birth time agree: inode numbers are reused at
 *   once after an unlink, so dev+ino alone could mistake a successor's file for ours.
 * - Removal by identity moves the name to a private one first (rename is atomic: whatever
 *   was moved is now ours alone to inspect), then checks it is the expected file; anything
 *   else is moved back. Nothing is unlinked on the strength of an earlier check by name.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, type Stats } from 'node:fs';
import { link, lstat, open, rename, rm, unlink, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';

const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = constants;
/** Flags for reading a record: never follow a symlink, never block on a FIFO. */
export const READ_RECORD = O_RDONLY | O_NOFOLLOW | O_NONBLOCK;

export interface FileId {
  dev: number;
  ino: number;
  /** Birth time in ms (statx); 0 where the file system does not report it. */
  birth: number;
}

export function idOf(st: Pick<Stats, 'dev' | 'ino' | 'birthtimeMs'>): FileId {
  return { dev: st.dev, ino: st.ino, birth: st.birthtimeMs };
}

export function sameFile(a: FileId | undefined, b: FileId | undefined): boolean {
  return !!a && !!b && a.dev === b.dev && a.ino === b.ino && a.birth === b.birth;
}

/**
 * Reads at most `cap` bytes of a regular file, synchronously (records are a few KiB: a
 * threadpool round trip would cost more than the read). Undefined when the name is missing,
 * a symlink, a FIFO, a directory or anything but a regular file, or unreadable.
 */
export function readRecordSync(path: string, cap: number, scratch?: Buffer): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(path, READ_RECORD);
  } catch {
    return undefined;
  }
  try {
    if (!fstatSync(fd).isFile()) return undefined;
    const buf = scratch && scratch.length >= cap ? scratch : Buffer.allocUnsafe(cap);
    let n = 0;
    while (n < cap) {
      const r = readSync(fd, buf, n, cap - n, n);
      if (r === 0) break;
      n += r;
    }
    return buf.subarray(0, n);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** lstat that answers undefined for a missing name. */
export function lstatOrUndefined(path: string): Stats | undefined {
  return lstatSync(path, { throwIfNoEntry: false });
}

/** A name next to `path` that no other process will ever use (for a rename or link). */
export function privateName(dir: string, tag: string): string {
  return join(dir, `.${tag}-${process.pid}-${randomBytes(6).toString('hex')}`);
}

/**
 * Removes `path` if, and only if, it is the file or directory `id`. The name is first moved
 * to a private name in `trashDir` (same file system), so the check and the removal act on one
 * object; an object that turns out not to be ours is put back (link for files, so an entry
 * created meanwhile is never overwritten; rename for directories, which fails on a non-empty
 * one). Returns 'removed', 'missing' (nothing there) or 'foreign' (left in place).
 */
export async function removeIfSame(path: string, id: FileId, trashDir = dirname(path)): Promise<'removed' | 'missing' | 'foreign'> {
  const trash = privateName(trashDir, 'trash');
  try {
    await rename(path, trash);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw err;
  }
  const st = await lstat(trash);
  if (sameFile(idOf(st), id)) {
    await rm(trash, { recursive: true, force: true });
    return 'removed';
  }
  if (st.isDirectory()) {
    await rename(trash, path).catch(() => {});
  } else {
    await link(trash, path).catch(() => {});
    await unlink(trash).catch(() => {});
  }
  return 'foreign';
}

/** Opens a file that must be a regular file (O_NOFOLLOW; fstat checked); closes it otherwise. */
export async function openRegularFile(path: string, flags: number, mode?: number): Promise<{ fh: FileHandle; st: Stats }> {
  const fh = await open(path, flags | O_NOFOLLOW | O_NONBLOCK, mode);
  try {
    const st = await fh.stat();
    if (!st.isFile()) {
      throw Object.assign(new Error(`${path} is not a regular file`), { code: 'ENOTREGULAR', path });
    }
    return { fh, st };
  } catch (err) {
    await fh.close().catch(() => {});
    throw err;
  }
}
