/**
 * Reading ingests from any process: the status record (ref, total, times, owner), the live
 * offset (the size of `data`, cheap to stat while another process appends) and the lock
 * state. Half-created dirs, torn records and stray files are skipped, never fatal.
 */
import { readdir, stat } from 'node:fs/promises';
import type { IngestState, Status, StatusFilter } from '../content/types.js';
import { wrapSystemError } from '../errors.js';
import { inspectLock, type LockOptions } from './lock.js';
import { INGEST_KEY, ingestPathsForKey, ingestRoot, type IngestPaths } from './paths.js';
import { readStatus } from './status-file.js';

export async function readIngest(root: string, paths: IngestPaths, lockOpts: LockOptions): Promise<Status | undefined> {
  const [record, data, lock] = await Promise.all([
    readStatus(paths.status).catch(() => undefined),
    stat(paths.data).catch(() => undefined),
    inspectLock(paths, lockOpts).catch(() => undefined),
  ]);
  if (!record) return undefined;
  const state: IngestState = !lock?.exists ? 'idle' : lock.stale ? 'stale' : 'active';
  return {
    ref: record.ref,
    offset: data?.size ?? 0,
    total: record.total,
    expected: record.expected,
    startedAt: new Date(record.startedAt),
    // Writes touch only data, not the record: its mtime is the time of the last write.
    updatedAt: new Date(Math.max(record.updatedAt, data ? Math.floor(data.mtimeMs) : 0)),
    owner: lock?.exists ? (lock.owner ?? record.owner) : record.owner,
    state,
    lockAgeMs: lock?.exists ? lock.ageMs : undefined,
  };
}

/** Every ingest key present under ingest/ (directories or orphaned lock/owner files). */
export async function ingestKeys(root: string): Promise<Set<string>> {
  let names: string[];
  try {
    names = await readdir(ingestRoot(root));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Set();
    throw wrapSystemError(err, 'listing ingests');
  }
  const keys = new Set<string>();
  for (const n of names) {
    const key = n.replace(/\.(lock|owner|takeover)$/, '');
    if (INGEST_KEY.test(key)) keys.add(key);
  }
  return keys;
}

export async function listIngests(root: string, lockOpts: LockOptions, filter: StatusFilter = {}): Promise<Status[]> {
  const keys = [...(await ingestKeys(root))];
  const out: Status[] = [];
  // Bounded fan-out: a store with thousands of ingests answers fast without fd exhaustion.
  const width = 64;
  for (let i = 0; i < keys.length; i += width) {
    const batch = await Promise.all(keys.slice(i, i + width).map((k) => readIngest(root, ingestPathsForKey(root, k), lockOpts)));
    for (const s of batch) {
      if (!s) continue;
      if (filter.prefix && !s.ref.startsWith(filter.prefix)) continue;
      if (filter.state && s.state !== filter.state) continue;
      out.push(s);
    }
  }
  out.sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime() || a.ref.localeCompare(b.ref));
  return out;
}
