/**
 * Who holds a ref lock, and whether that holder can still act.
 *
 * The holder's identity is the file `owner` inside the lock directory, written before the
 * directory gets its name (./lock.ts makes the lock by renaming a prepared directory), so a
 * lock never exists without its owner, and a record can never outlive or outrank its lock.
 * It is read with a size cap, never through a symlink, never from a FIFO.
 *
 * Judgement (DESIGN §3 Locks, README: Trust model):
 * - `dead` holder (same host and pid namespace; pid gone, reused, or another boot): stale at
 *   once, whatever its heartbeat.
 * - `alive` holder on this host: never stale. A stopped process (SIGSTOP, a debugger, a
 *   suspended machine) still holds its lock, as with flock(2); when its heartbeat is older
 *   than `staleMs` it is shown as `stalled`, and only an operator's forced takeover moves it.
 * - holder of `unknown` liveness (another host or pid namespace, or no readable record — a
 *   lock made by an older version): stale once its heartbeat is older than `staleMs`.
 */
import type { Stats } from 'node:fs';
import { lstat } from 'node:fs/promises';
// The pure-JS entry: the package root probes for an optional native addon (~270 ms here).
import { pack, unpack } from 'msgpackr/pack';
import type { IngestState, Owner } from '../content/types.js';
import { currentOwner, ownerLiveness, type Liveness } from './owner.js';
import type { IngestPaths } from './paths.js';
import { idOf, readRecordSync, sameFile, type FileId } from './safe-fs.js';

export interface LockOptions {
  /** A lock whose heartbeat is older than this is stale, unless its holder is alive on this host (default 10 s). */
  staleMs: number;
  /** Heartbeat period (default staleMs / 4, at least 1 s — proper-lockfile's floor). */
  updateMs: number;
}

export const DEFAULT_LOCK_OPTIONS: Readonly<LockOptions> = Object.freeze({ staleMs: 10_000, updateMs: 2_500 });

/** Owner records are ~200 bytes; anything larger is not ours. */
export const OWNER_CAP = 4096;

interface OwnerRecord extends Owner {
  acquiredAt: number;
}

export interface LockInspection {
  exists: boolean;
  /** Identity of the lock directory inspected. */
  id?: FileId;
  owner?: Owner;
  /** ms since the lock was acquired (owner record), else since its directory was created. */
  ageMs?: number;
  /** ms since the last heartbeat. */
  heartbeatAgeMs?: number;
  liveness: Liveness;
  /** The next writer may take the lock over. */
  stale: boolean;
  /** Held by a live process on this host whose heartbeat stopped (not stale). */
  stalled: boolean;
}

/** The record inside the lock, if one is readable. */
export function readOwner(paths: IngestPaths): { owner: Owner; acquiredAt?: number } | undefined {
  const buf = readRecordSync(paths.owner, OWNER_CAP);
  if (!buf || buf.length === 0 || buf.length >= OWNER_CAP) return undefined;
  try {
    const r = unpack(buf) as OwnerRecord;
    if (!r || typeof r !== 'object' || typeof r.pid !== 'number' || typeof r.host !== 'string') return undefined;
    const owner: Owner = { pid: r.pid, host: r.host, bootId: r.bootId, startTicks: r.startTicks, pidNs: r.pidNs };
    return { owner, acquiredAt: typeof r.acquiredAt === 'number' ? r.acquiredAt : undefined };
  } catch {
    return undefined;
  }
}

/**
 * The lock's state from one directory: the owner record is read by name, so the directory is
 * looked up before and after, and the record counts only if both are the same directory
 * (the lock may be replaced in between, e.g. by a takeover; mixing the old directory's
 * heartbeat with the new holder's record described a fresh lock as a stalled one). After
 * a few replacements in a row the owner is left unknown.
 */
export async function inspectLock(paths: IngestPaths, opts: LockOptions = DEFAULT_LOCK_OPTIONS): Promise<LockInspection> {
  const absent: LockInspection = { exists: false, liveness: 'unknown', stale: false, stalled: false };
  let st = await lstatOrUndefined(paths.lock);
  if (!st) return absent;
  let rec: ReturnType<typeof readOwner>;
  for (let attempt = 0; attempt < 3; attempt++) {
    // A lock that is not a directory was not made by a lock holder: its owner is unknown.
    const read = st.isDirectory() ? readOwner(paths) : undefined;
    const again = await lstatOrUndefined(paths.lock);
    if (!again) return absent;
    const same = sameFile(idOf(st), idOf(again));
    st = again;
    if (same) {
      rec = read;
      break;
    }
  }
  const now = Date.now();
  const owner = rec?.owner;
  const liveness = ownerLiveness(owner);
  const heartbeatAgeMs = now - st.mtimeMs;
  const born = rec?.acquiredAt ?? (st.birthtimeMs > 0 ? st.birthtimeMs : st.ctimeMs);
  const old = heartbeatAgeMs > opts.staleMs;
  return {
    exists: true,
    id: idOf(st),
    owner,
    ageMs: Math.max(0, now - born),
    heartbeatAgeMs,
    liveness,
    stale: liveness === 'dead' || (liveness === 'unknown' && old),
    stalled: liveness === 'alive' && old,
  };
}

async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** What an ingest is, by its lock (see IngestState). */
export function ingestState(insp: LockInspection | undefined): IngestState {
  if (!insp?.exists) return 'idle';
  return insp.stale ? 'stale' : insp.stalled ? 'stalled' : 'active';
}

/** Our owner record, to be written inside a lock directory before it is named. */
export function ownerRecord(): Buffer {
  const rec: OwnerRecord = { ...currentOwner(), acquiredAt: Date.now() };
  return pack(rec);
}
