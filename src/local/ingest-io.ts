/**
 * File-level I/O of one ingest's data: opening it safely after a crash, writing fully,
 * the checkpoint fingerprint, and hashing a range with read-ahead.
 */
import { constants } from 'node:fs';
import { chmod, lstat, rename, type FileHandle } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import type { HashEngine, HashState } from '../hash/types.js';
import { idOf, openRegularFile, privateName, removeIfSame, type FileId } from './safe-fs.js';
import { TAIL } from './status-file.js';

/** Hash tasks in flight per writer: enough to overlap disk and hashing, bounded memory. */
export const MAX_HASH_INFLIGHT = 4;
const READ_CHUNK = 1 << 20;

export async function writeFully(fh: FileHandle, chunk: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < chunk.byteLength) {
    const { bytesWritten } = await fh.write(chunk, done, chunk.byteLength - done, position + done);
    done += bytesWritten;
  }
}

/** writeFully for several buffers in order, in as few system calls as the kernel allows. */
export async function writevFully(fh: FileHandle, chunks: readonly Uint8Array[], position: number): Promise<void> {
  let rest = chunks.filter((c) => c.byteLength > 0);
  let at = position;
  while (rest.length > 0) {
    let { bytesWritten } = await fh.writev(rest as Uint8Array[], at);
    at += bytesWritten;
    // A short write: drop what went, continue from the middle of the buffer it stopped in.
    while (rest.length > 0 && bytesWritten >= rest[0]!.byteLength) bytesWritten -= rest.shift()!.byteLength;
    if (bytesWritten > 0) rest = [rest[0]!.subarray(bytesWritten), ...rest.slice(1)];
  }
}

export async function tailCrc(fh: FileHandle, offset: number): Promise<number> {
  const len = Math.min(TAIL, offset);
  const buf = Buffer.alloc(len);
  if (len) await fh.read(buf, 0, len, offset - len);
  return crc32(buf);
}

/** Moves whatever is at `path` out of the way, to a debris name that prune removes later. */
export async function moveAside(path: string, debrisDir: string): Promise<void> {
  await rename(path, privateName(debrisDir, 'debris')).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}

/**
 * Opens the ingest's data for writing, making a leftover file safe first:
 * - never through a symlink, and only a regular file (anything else is moved aside);
 * - a crash after link() and before cleanup leaves `data` as a second name of a committed
 *   blob (link count > 1): writing into it would corrupt the blob, so that name is dropped
 *   (by identity) and the ingest starts afresh;
 * - a crash between chmod(0444) and link() leaves a read-only file that is still ours to
 *   resume (root opens it anyway; others get EACCES, and we restore the write bit).
 */
export async function openData(path: string, mode: number, debrisDir: string): Promise<{ fh: FileHandle; size: number; id: FileId }> {
  for (let attempt = 0; ; attempt++) {
    let opened;
    try {
      opened = await openRegularFile(path, constants.O_RDWR | constants.O_CREAT, mode);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (attempt > 2) throw err;
      if (code === 'EACCES') {
        const st = await lstat(path).catch(() => undefined);
        if (st?.isFile() && !(st.mode & 0o200)) {
          await chmod(path, mode);
          continue;
        }
        throw err;
      }
      if (code === 'ENOTREGULAR' || code === 'ELOOP' || code === 'EISDIR' || code === 'ENXIO' || code === 'EMLINK') {
        await moveAside(path, debrisDir);
        continue;
      }
      throw err;
    }
    const { fh, st } = opened;
    if (st.nlink <= 1 || attempt > 2) {
      if ((st.mode & 0o200) === 0) await fh.chmod(mode);
      return { fh, size: st.size, id: idOf(st) };
    }
    await fh.close();
    await removeIfSame(path, idOf(st), debrisDir);
  }
}

/** Hashes data[from, to) onto `state`, reading ahead while the engine hashes. */
export async function hashRange(engine: HashEngine, fh: FileHandle, state: HashState, from: number, to: number): Promise<HashState> {
  let tail = Promise.resolve(state);
  const pending: Promise<unknown>[] = [];
  for (let pos = from; pos < to; ) {
    const buf = new Uint8Array(Math.min(READ_CHUNK, to - pos));
    const { bytesRead } = await fh.read(buf, 0, buf.byteLength, pos);
    if (bytesRead === 0) break;
    const chunk = bytesRead === buf.byteLength ? buf : buf.slice(0, bytesRead);
    pos += bytesRead;
    tail = tail.then((s) => engine.update(s, chunk));
    pending.push(tail.catch(() => {}));
    if (pending.length >= MAX_HASH_INFLIGHT) await pending.shift();
  }
  return tail;
}
