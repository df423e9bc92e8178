/**
 * `index.json` of the OCI layout, updated safely by concurrent processes:
 *   lock (index-lock.ts) → read the current file, noting its identity → apply the change →
 *   write a temp file, fsync → check the lock is still ours and index.json is still the file
 *   we read → rename over index.json → fsync the directory → unlock.
 * Re-reading under the lock is what keeps a concurrent process's tag: a read-modify-write
 * without it loses whichever update lands second. The two checks before the rename make an
 * updater that lost its lock (frozen past the stale time, then taken over) or whose file
 * was replaced by a tool that does not lock (skopeo writing the layout) change nothing from
 * its stale view: it starts over on the newer file. Readers never lock: rename is atomic,
 * so they see the old or the new file, never a torn one.
 *
 * Residual window (known, documented in the README's trust model): the checks and the
 * rename are two steps. The lock is never taken from a holder alive on this host, however
 * long it is paused (src/local/lock-owner.ts), so only a holder on another host sharing the
 * store, frozen past the stale time exactly between them, can still replace a newer file;
 * closing that needs a compare-and-swap the file system does not offer for rename-over.
 */
import { open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { BigIntStats } from 'node:fs';
import { dataLoss, unavailable, wrapSystemError } from '../errors.js';
import { syncDir } from '../local/fsync.js';
import { crashpoint } from '../testing/crashpoint.js';
import { lockIndex, type IndexLockOptions } from './index-lock.js';
import { ensureLayout, INDEX_FILE } from './layout.js';

export type { IndexLockOptions };

export const OCI_INDEX_TYPE = 'application/vnd.oci.image.index.v1+json';

/** index.json is read whole; larger than this it is refused, not loaded (~50,000 names). */
export const MAX_INDEX_FILE = 16 << 20;

/** A valid entry (index-entry.ts checks them; the file may hold anything). */
export interface IndexEntry {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os: string; architecture: string; variant?: string };
  annotations?: Record<string, string>;
}

export interface IndexFile {
  schemaVersion: 2;
  mediaType?: string;
  /** Untrusted: validate each entry (index-entry.ts) before using it. */
  manifests: unknown[];
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

/** Which file was read: a rename in between changes the inode and the ctime. */
type Identity = string;

function identity(s: BigIntStats | undefined): Identity {
  return s ? `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}` : 'absent';
}

async function readWithIdentity(root: string): Promise<{ index: IndexFile; id: Identity }> {
  const p = join(root, INDEX_FILE);
  let text: string;
  let st: BigIntStats;
  try {
    const fh = await open(p, 'r');
    try {
      st = await fh.stat({ bigint: true });
      if (st.size > BigInt(MAX_INDEX_FILE)) {
        throw dataLoss('ERR_BAD_INDEX', `${p} is ${st.size} bytes, over the ${MAX_INDEX_FILE}-byte limit; fix or remove it`, { path: p });
      }
      const buf = Buffer.alloc(Number(st.size) + 1);
      let n = 0;
      for (let r; n < buf.length && (r = await fh.read(buf, n, buf.length - n, n)).bytesRead > 0; ) n += r.bytesRead;
      // Grown since the stat (another writer in place): refuse rather than read unbounded.
      if (n > MAX_INDEX_FILE) throw dataLoss('ERR_BAD_INDEX', `${p} grew past the ${MAX_INDEX_FILE}-byte limit while being read`, { path: p });
      text = buf.subarray(0, n).toString('utf8');
    } finally {
      await fh.close();
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { index: { schemaVersion: 2, mediaType: OCI_INDEX_TYPE, manifests: [] }, id: 'absent' };
    throw wrapSystemError(err, `reading ${p}`, { path: p });
  }
  try {
    const v = JSON.parse(text) as IndexFile;
    if (v?.schemaVersion !== 2 || !Array.isArray(v.manifests)) throw new Error('not an OCI index (schemaVersion 2 with manifests[])');
    return { index: v, id: identity(st) };
  } catch (err) {
    throw dataLoss('ERR_BAD_INDEX', `${p} is corrupt: ${(err as Error).message}; fix or remove it`, { path: p });
  }
}

/** Reads index.json; a missing file is an empty index, an unreadable one is DataLoss (never overwritten blindly). */
export async function readIndex(root: string): Promise<IndexFile> {
  return (await readWithIdentity(root)).index;
}

async function currentIdentity(p: string): Promise<Identity> {
  try {
    return identity(await stat(p, { bigint: true }));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw err;
  }
}

/** Tries before giving up when index.json keeps changing under us (it takes a frozen holder or a busy foreign writer). */
const ATTEMPTS = 8;

/**
 * Applies `change` to the current index.json under the layout lock and atomically replaces
 * the file. `change` may be called more than once, each time with the latest content; it
 * must be pure. Returns what was written.
 */
export async function updateIndex(root: string, change: (index: IndexFile) => IndexFile, lockOptions?: IndexLockOptions): Promise<IndexFile> {
  await ensureLayout(root);
  const p = join(root, INDEX_FILE);
  for (let attempt = 1; ; attempt++) {
    const lock = await lockIndex(p, lockOptions);
    let why: string;
    try {
      const { index, id } = await readWithIdentity(root);
      const next = change(index);
      const tmp = `${p}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
      try {
        const fh = await open(tmp, 'wx', 0o644);
        try {
          await fh.writeFile(JSON.stringify(next) + '\n');
          await fh.sync(); // the rename must never expose a file whose data is not on disk
        } finally {
          await fh.close();
        }
        crashpoint('index:before-rename');
        if (!(await lock.held())) why = 'lost the index.json lock (frozen past its stale time?)';
        else if ((await currentIdentity(p)) !== id) why = 'index.json changed since it was read';
        else {
          await rename(tmp, p);
          await syncDir(root); // the new name survives a crash once we report success
          return next;
        }
        await rm(tmp, { force: true });
      } catch (err) {
        await rm(tmp, { force: true });
        throw wrapSystemError(err, `writing ${p}`, { path: p });
      }
    } finally {
      await lock.release();
    }
    if (attempt >= ATTEMPTS) throw unavailable('ERR_INDEX_CONFLICT', `${p}: gave up after ${attempt} tries: ${why}`, { path: p });
    await new Promise((r) => setTimeout(r, Math.random() * 20 * attempt));
  }
}
