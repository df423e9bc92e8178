/**
 * Open blobs, kept for a moment between Read calls. Clients read a blob as many small
 * ranged calls — `ctr content get` of 256 MiB is 8,192 Reads of 32 KiB — and opening,
 * checking and closing the file for each cost more than the read itself. A handle is reused
 * only while the blob's name still names the file it has open (dev, inode and birth time,
 * checked with an lstat per call): a blob deleted or replaced meanwhile — by this server or
 * any other process — is never read through an old handle. Handles close after IDLE_MS
 * unused, and at most MAX_OPEN stay open.
 *
 * The lstat is synchronous, like the store's record reads: a metadata lookup of a few
 * microseconds costs less than a thread-pool round trip.
 */
import { constants, lstatSync, readSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { notFound, wrapSystemError } from '../../errors.js';
import { blobPath } from '../../local/paths.js';
import { idOf, sameFile, type FileId } from '../../local/safe-fs.js';

const IDLE_MS = 2000;
const MAX_OPEN = 64;
/** Reads up to this size happen on the calling thread (see the header). */
const SYNC_READ = 128 << 10;

interface Entry {
  fh: FileHandle;
  id: FileId;
  size: number;
  users: number;
  /** Forgotten (replaced, evicted, idle): closes when its last user is done. */
  dropped: boolean;
  timer?: NodeJS.Timeout;
}

export interface BlobReader {
  readonly size: number;
  read(position: number, length: number): Promise<Buffer>;
  release(): void;
}

const missing = (digest: string) => notFound('ERR_BLOB_NOT_FOUND', `content ${digest} not found`, { digest });

export class BlobReaders {
  private readonly open = new Map<string, Entry>();

  constructor(private readonly root: string) {}

  async acquire(digest: string): Promise<BlobReader> {
    const path = blobPath(this.root, digest);
    let st;
    try {
      st = lstatSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw missing(digest);
      throw wrapSystemError(err, `reading ${digest}`, { digest });
    }
    if (!st.isFile()) throw missing(digest);
    const id = idOf(st);
    let e = this.open.get(digest);
    if (e && !sameFile(e.id, id)) {
      this.drop(digest, e);
      e = undefined;
    }
    if (!e) e = await this.openBlob(digest, path, id);
    const entry = e;
    entry.users++;
    clearTimeout(entry.timer);
    let released = false;
    return {
      size: entry.size,
      read: async (position, length) => {
        const buf = Buffer.allocUnsafe(length);
        if (length <= SYNC_READ) return buf.subarray(0, readSync(entry.fh.fd, buf, 0, length, position));
        let n = 0;
        while (n < length) {
          const { bytesRead } = await entry.fh.read(buf, n, length - n, position + n);
          if (bytesRead === 0) break;
          n += bytesRead;
        }
        return buf.subarray(0, n);
      },
      release: () => {
        if (released) return;
        released = true;
        if (--entry.users > 0) return;
        if (entry.dropped) void entry.fh.close().catch(() => {});
        else entry.timer = setTimeout(() => this.drop(digest, entry), IDLE_MS).unref();
      },
    };
  }

  private async openBlob(digest: string, path: string, id: FileId): Promise<Entry> {
    let fh: FileHandle;
    try {
      fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ELOOP') throw missing(digest);
      throw wrapSystemError(err, `opening ${digest}`, { digest });
    }
    const st = await fh.stat();
    // The file opened must be the one just looked up (not a replacement, not a FIFO).
    if (!st.isFile() || !sameFile(idOf(st), id)) {
      await fh.close();
      throw missing(digest);
    }
    const raced = this.open.get(digest);
    if (raced && sameFile(raced.id, id)) {
      await fh.close(); // another call opened it meanwhile
      return raced;
    }
    if (raced) this.drop(digest, raced);
    const e: Entry = { fh, id, size: st.size, users: 0, dropped: false };
    this.open.set(digest, e);
    this.evict();
    return e;
  }

  /** Forgets a handle; it closes now, or when its last user is done. */
  private drop(digest: string, e: Entry): void {
    if (this.open.get(digest) === e) this.open.delete(digest);
    clearTimeout(e.timer);
    if (e.dropped) return;
    e.dropped = true;
    if (e.users === 0) void e.fh.close().catch(() => {});
  }

  private evict(): void {
    if (this.open.size <= MAX_OPEN) return;
    for (const [d, e] of this.open) {
      if (this.open.size <= MAX_OPEN) break;
      if (e.users === 0) this.drop(d, e);
    }
  }

  closeAll(): void {
    for (const [d, e] of this.open) this.drop(d, e);
  }
}
