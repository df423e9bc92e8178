/**
 * File-level I/O of one ingest's data: opening it safely after a crash, writing fully,
 * the checkpoint fingerprint, and hashing a range with read-ahead.
 */
import { constants } from 'node:fs';
import { chmod, open, rm, type FileHandle } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import type { HashEngine, HashState } from '../hash/types.js';
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

export async function tailCrc(fh: FileHandle, offset: number): Promise<number> {
  const len = Math.min(TAIL, offset);
  const buf = Buffer.alloc(len);
  if (len) await fh.read(buf, 0, len, offset - len);
  return crc32(buf);
}

/**
 * Opens the ingest's data for writing, making a leftover file safe first. A crash after
 * link() and before cleanup leaves `data` as a second name of a committed blob (link count
 * > 1): writing into it would corrupt the blob, so that name is dropped and the ingest
 * starts afresh (the blob is complete; a caller expecting it got AlreadyExists before the
 * lock). A crash between chmod(0444) and link() leaves a read-only file that is still ours
 * to resume (root opens it anyway; others get EACCES, and we restore the write bit).
 */
export async function openData(path: string): Promise<{ fh: FileHandle; size: number }> {
  for (let attempt = 0; ; attempt++) {
    let fh: FileHandle;
    try {
      fh = await open(path, constants.O_RDWR | constants.O_CREAT, 0o644);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (attempt > 0 || (code !== 'EACCES' && code !== 'EISDIR')) throw err;
      if (code === 'EISDIR') await rm(path, { recursive: true, force: true });
      else await chmod(path, 0o644);
      continue;
    }
    const st = await fh.stat();
    if (st.nlink <= 1 || attempt > 0) {
      if ((st.mode & 0o200) === 0) await fh.chmod(0o644);
      return { fh, size: st.size };
    }
    await fh.close();
    await rm(path, { force: true });
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
