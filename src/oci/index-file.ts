/**
 * `index.json` of the OCI layout, updated safely by concurrent processes:
 *   lock (`index.json.lock`, proper-lockfile) → re-read the current file → apply the change
 *   → write a temp file, fsync → rename over index.json → fsync the directory → unlock.
 * Re-reading under the lock is what keeps a concurrent process's tag: a read-modify-write
 * without it loses whichever update lands second. Readers never lock: rename is atomic, so
 * they see the old or the new file, never a torn one.
 */
import { open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { dataLoss, unavailable, wrapSystemError } from '../errors.js';
import { syncDir } from '../local/fsync.js';
import { ensureLayout, INDEX_FILE } from './layout.js';

export const OCI_INDEX_TYPE = 'application/vnd.oci.image.index.v1+json';

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
  manifests: IndexEntry[];
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

/** Reads index.json; a missing file is an empty index, an unreadable one is DataLoss (never overwritten blindly). */
export async function readIndex(root: string): Promise<IndexFile> {
  const p = join(root, INDEX_FILE);
  let text: string;
  try {
    text = await readFile(p, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { schemaVersion: 2, mediaType: OCI_INDEX_TYPE, manifests: [] };
    throw wrapSystemError(err, `reading ${p}`, { path: p });
  }
  try {
    const v = JSON.parse(text) as IndexFile;
    if (v?.schemaVersion !== 2 || !Array.isArray(v.manifests)) throw new Error('not an OCI index (schemaVersion 2 with manifests[])');
    return v;
  } catch (err) {
    throw dataLoss('ERR_BAD_INDEX', `${p} is corrupt: ${(err as Error).message}; fix or remove it`, { path: p });
  }
}

/** Lock timing: critical sections last milliseconds; a holder silent for 10 s is dead. */
const LOCK = { stale: 10_000, update: 2_000, retries: { retries: 200, factor: 1.3, minTimeout: 5, maxTimeout: 200, randomize: true } };

/**
 * Applies `change` to the current index.json under the layout lock and atomically replaces
 * the file. `change` may be called with the latest content only; it must be pure.
 */
export async function updateIndex(root: string, change: (index: IndexFile) => IndexFile): Promise<IndexFile> {
  await ensureLayout(root);
  const p = join(root, INDEX_FILE);
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(p, {
      realpath: false,
      lockfilePath: `${p}.lock`,
      stale: LOCK.stale,
      update: LOCK.update,
      retries: LOCK.retries,
      // Never throw from a timer: the critical section lasts milliseconds against a 10 s
      // staleness window, so a compromise here means a frozen process, not a live race.
      onCompromised: () => {},
    });
  } catch (err) {
    throw unavailable('ERR_INDEX_LOCKED', `cannot lock ${p}: ${(err as Error).message}`, { path: `${p}.lock` });
  }
  try {
    const next = change(await readIndex(root));
    const tmp = `${p}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    try {
      const fh = await open(tmp, 'wx', 0o644);
      try {
        await fh.writeFile(JSON.stringify(next) + '\n');
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, p);
      await syncDir(root);
    } catch (err) {
      await rm(tmp, { force: true });
      throw wrapSystemError(err, `writing ${p}`, { path: p });
    }
    return next;
  } finally {
    await release().catch(() => {});
  }
}
