/**
 * Who holds a ref lock, and whether that holder can still act.
 *
 * The holder's identity sits beside the lock in `<key>.owner`, bound to the lock directory by
 * device, inode and birth time: inode numbers are reused at once after a lock is removed, and
 * a record left behind by an exited holder must never be read as the identity of the next
 * lock. The record is read with a size cap, never through a symlink, never from a FIFO.
 *
 * Judgement (DESIGN §3 Locks, README: Trust model):
 * - `dead` holder (same host and pid namespace; pid gone, reused, or another boot): stale at
 *   once, whatever its heartbeat.
 * - `alive` holder on this host: never stale. A stopped process (SIGSTOP, a debugger, a
 *   suspended machine) still holds its lock, as with flock(2); when its heartbeat is older
 *   than `staleMs` it is shown as `stalled`, and only an operator's forced takeover moves it.
 * - holder of `unknown` liveness (another host or pid namespace, or no readable record):
 *   stale once its heartbeat is older than `staleMs`.
 */
import { constants } from 'node:fs';
import { lstat, open, rm, unlink } from 'node:fs/promises';
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
  lockDev?: number;
  lockIno: number;
  lockBirth: number;
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

const boundTo = (r: OwnerRecord, id: FileId) =>
  r.lockIno === id.ino && r.lockBirth === id.birth && (r.lockDev === undefined || r.lockDev === id.dev);

/** The owner record bound to the lock `id`, if one is readable. */
export function readOwner(paths: IngestPaths, id: FileId): { owner: Owner; acquiredAt?: number } | undefined {
  const buf = readRecordSync(paths.owner, OWNER_CAP);
  if (!buf || buf.length === 0 || buf.length >= OWNER_CAP) return undefined;
  try {
    const r = unpack(buf) as OwnerRecord;
    if (!r || typeof r !== 'object' || typeof r.pid !== 'number' || typeof r.host !== 'string' || !boundTo(r, id)) return undefined;
    const owner: Owner = { pid: r.pid, host: r.host, bootId: r.bootId, startTicks: r.startTicks, pidNs: r.pidNs };
    return { owner, acquiredAt: typeof r.acquiredAt === 'number' ? r.acquiredAt : undefined };
  } catch {
    return undefined;
  }
}

export async function inspectLock(paths: IngestPaths, opts: LockOptions = DEFAULT_LOCK_OPTIONS): Promise<LockInspection> {
  let st;
  try {
    st = await lstat(paths.lock);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { exists: false, liveness: 'unknown', stale: false, stalled: false };
    throw err;
  }
  const now = Date.now();
  const id = idOf(st);
  // A lock that is not a directory was not made by a lock holder: its owner is unknown.
  const rec = st.isDirectory() ? readOwner(paths, id) : undefined;
  const owner = rec?.owner;
  const liveness = ownerLiveness(owner);
  const heartbeatAgeMs = now - st.mtimeMs;
  const born = rec?.acquiredAt ?? (st.birthtimeMs > 0 ? st.birthtimeMs : st.ctimeMs);
  const old = heartbeatAgeMs > opts.staleMs;
  return {
    exists: true,
    id,
    owner,
    ageMs: Math.max(0, now - born),
    heartbeatAgeMs,
    liveness,
    stale: liveness === 'dead' || (liveness === 'unknown' && old),
    stalled: liveness === 'alive' && old,
  };
}

/** What an ingest is, by its lock (see IngestState). */
export function ingestState(insp: LockInspection | undefined): IngestState {
  if (!insp?.exists) return 'idle';
  return insp.stale ? 'stale' : insp.stalled ? 'stalled' : 'active';
}

/**
 * Writes our owner record for the lock `lock` (which we hold). The previous record belongs
 * to a lock that no longer exists, so it is replaced: unlinked, then created with O_EXCL and
 * O_NOFOLLOW, so a symlink, FIFO or directory planted at the name is never written through.
 * Returns the identity of the record file, for removal by identity at release.
 */
export async function writeOwner(paths: IngestPaths, lock: FileId, mode: number): Promise<FileId> {
  const rec: OwnerRecord = { ...currentOwner(), lockDev: lock.dev, lockIno: lock.ino, lockBirth: lock.birth, acquiredAt: Date.now() };
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  for (let attempt = 0; ; attempt++) {
    await unlink(paths.owner).catch(async (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return;
      if (err.code === 'EISDIR' || err.code === 'EPERM') return rm(paths.owner, { recursive: true, force: true });
      throw err;
    });
    let fh;
    try {
      fh = await open(paths.owner, flags, mode);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST' && attempt < 2) continue;
      throw err;
    }
    try {
      await fh.write(pack(rec));
      // The umask may have narrowed the mode; the next holder replaces the record, which
      // needs only the directory's permission, but readers of the group need to read it.
      if (mode & 0o060) await fh.chmod(mode);
      return idOf(await fh.stat());
    } finally {
      await fh.close();
    }
  }
}

/** True when the file at `paths.owner` is still the record `id` we wrote. */
export async function ownerIsOurs(paths: IngestPaths, id: FileId | undefined): Promise<boolean> {
  if (!id) return false;
  const st = await lstat(paths.owner).catch(() => undefined);
  return !!st && sameFile(idOf(st), id);
}
