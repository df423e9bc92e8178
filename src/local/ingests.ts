/**
 * Reading ingests from any process: the status record (ref, total, times, owner), the live
 * offset (the size of `data`, cheap to stat while another process appends) and the lock
 * state. Half-created dirs and stray files are skipped, never fatal; an ingest whose status
 * record is unreadable (torn by a crash) is still listed — by key, flagged `damaged` — since
 * resume and prune still work on it.
 */
import { lstatSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import type { Status, StatusFilter } from '../content/types.js';
import { wrapSystemError } from '../errors.js';
import { ingestState, inspectLock, type LockOptions } from './lock.js';
import { INGEST_KEY, ingestPathsIn, ingestRoot, type IngestPaths } from './paths.js';
import { readStatus, SLOT } from './status-file.js';

/**
 * One read buffer for every status record read here: a fresh 16 KiB buffer per record made
 * listing 1,000 ingests allocate 16 MiB and collect it (issue 15). Safe to share: readStatus
 * is synchronous, and nothing kept from a record (strings, numbers, the owner) refers to it
 * (its checkpoint's state may be a view of the buffer: a listing never keeps it).
 */
const scratch = Buffer.allocUnsafe(2 * SLOT);

/**
 * `locked` is what the caller already knows from listing ingest/ (false: no lock file was
 * there, so skip inspecting it); undefined means look. `ref`, when the caller knows it,
 * names an ingest whose record is unreadable.
 */
export async function readIngest(paths: IngestPaths, lockOpts: LockOptions, locked?: boolean, ref?: string): Promise<Status | undefined> {
  // Status and data size are read synchronously (see readStatus: microseconds each).
  const record = readStatus(paths.status, scratch);
  const dataSt = lstatSync(paths.data, { throwIfNoEntry: false });
  const data = dataSt?.isFile() ? dataSt : undefined;
  if (!record) {
    const dir = lstatSync(paths.dir, { throwIfNoEntry: false });
    if (!dir?.isDirectory() || !data) return undefined;
  }
  const lock = locked === false ? undefined : await inspectLock(paths, lockOpts).catch(() => undefined);
  const state = ingestState(lock);
  const at = data ? Math.floor(data.mtimeMs) : 0;
  return {
    ref: record?.ref ?? ref ?? '',
    key: paths.key,
    ...(record ? {} : { damaged: true }),
    offset: data?.size ?? 0,
    total: record?.total,
    expected: record?.expected,
    startedAt: new Date(record?.startedAt ?? Math.floor(data?.birthtimeMs || at)),
    // Writes touch only data, not the record: its mtime is the time of the last write.
    updatedAt: new Date(Math.max(record?.updatedAt ?? 0, at)),
    // A lock's owner is only what its own record says (unknown if unreadable); an ingest
    // nobody holds names its last writer.
    owner: lock?.exists ? lock.owner : record?.owner,
    state,
    lockAgeMs: lock?.exists ? lock.ageMs : undefined,
    heartbeatAgeMs: lock?.exists ? lock.heartbeatAgeMs : undefined,
  };
}

/** Every ingest key present under ingest/ (directories or orphaned lock/owner files). */
export async function ingestKeys(root: string): Promise<Set<string>> {
  return new Set((await scanIngests(root)).keys());
}

/** Ingest keys under ingest/, each with whether its lock directory was seen. */
export async function scanIngests(root: string): Promise<Map<string, boolean>> {
  let names: string[];
  try {
    names = await readdir(ingestRoot(root));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw wrapSystemError(err, 'listing ingests');
  }
  const keys = new Map<string, boolean>();
  for (const n of names) {
    const key = n.replace(/\.(lock|owner|takeover)$/, '');
    if (INGEST_KEY.test(key)) keys.set(key, keys.get(key) === true || n.endsWith('.lock'));
  }
  return keys;
}

export async function listIngests(root: string, lockOpts: LockOptions, filter: StatusFilter = {}): Promise<Status[]> {
  const keys = [...(await scanIngests(root))];
  const dir = ingestRoot(root);
  const out: Status[] = [];
  // Batches of 64: the synchronous reads of one batch take about a millisecond, then the
  // event loop runs (heartbeats, I/O) before the next.
  const width = 64;
  for (let i = 0; i < keys.length; i += width) {
    if (i > 0) await new Promise((r) => setImmediate(r));
    // A lock created after the listing is missed, as if the listing had been a moment earlier.
    const batch = await Promise.all(keys.slice(i, i + width).map(([k, locked]) => readIngest(ingestPathsIn(dir, k), lockOpts, locked)));
    for (const s of batch) {
      if (!s) continue;
      if (filter.prefix && (s.damaged || !s.ref.startsWith(filter.prefix))) continue;
      if (filter.state && s.state !== filter.state) continue;
      out.push(s);
    }
  }
  out.sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime() || a.ref.localeCompare(b.ref));
  return out;
}
