/**
 * Ref locks across processes, without a daemon.
 *
 * A lock is the directory `ingest/<key>.lock`, created by proper-lockfile (mkdir is atomic)
 * and kept fresh by its heartbeat (mtime updates). Its holder's identity sits beside it in
 * `<key>.owner`, bound to the lock directory's inode so a record left by an earlier holder
 * is never mistaken for the current one.
 *
 * proper-lockfile's own stale removal is racy (two contenders can each remove the lock the
 * other just created), so it is switched off (`stale` = never) and staleness is decided
 * here: a lock is stale when its recorded owner is provably dead (same host, pid gone or
 * reused — recovered at once) or when its heartbeat is older than `staleMs`. Removing a
 * stale lock happens only under a second mkdir lock, the takeover guard, after judging the
 * lock stale again while holding it: a fresh lock is never removed, and with N contenders
 * exactly one creates the replacement (mkdir decides).
 *
 * A compromised lock (someone took it over because our heartbeat stalled) never throws: it
 * is recorded and the writer fails its next call with LockCompromised.
 */
import { watch, type FSWatcher } from 'node:fs';
import { mkdir, readFile, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import lockfile from 'proper-lockfile';
// The pure-JS entry: the package root probes for an optional native addon (~270 ms here).
import { pack, unpack } from 'msgpackr/pack';
import type { IngestState, Owner } from '../content/types.js';
import { canceled, lockCompromised, unavailable, wrapSystemError, type ContentError } from '../errors.js';
import { currentOwner, ownerLiveness, type Liveness } from './owner.js';
import type { IngestPaths } from './paths.js';
import { diag } from '../diagnostics.js';
import { crashpoint } from '../testing/crashpoint.js';

export interface LockOptions {
  /** A lock whose heartbeat is older than this is stale (default 10 s). */
  staleMs: number;
  /** Heartbeat period (default staleMs / 4, at least 1 s — proper-lockfile's floor). */
  updateMs: number;
}

export const DEFAULT_LOCK_OPTIONS: Readonly<LockOptions> = Object.freeze({ staleMs: 10_000, updateMs: 2_500 });

/** A guard older than this was left by a crashed taker (it is held for milliseconds). */
const GUARD_STALE_MS = 5_000;
/** Effectively "never": disables proper-lockfile's racy stale removal. */
const NEVER_STALE = 2 ** 31 - 1;

/**
 * The holder's identity, bound to one lock directory by inode and birth time: inode
 * numbers are reused at once after a lock is removed, and a record left behind by an
 * exited holder (proper-lockfile's exit hook removes the lock, not our record) must never
 * be read as the identity of the next lock.
 */
interface OwnerRecord extends Owner {
  lockIno: number;
  lockBirth: number;
  acquiredAt: number;
}

const sameLock = (r: OwnerRecord, st: { ino: number; birthtimeMs: number }) => r.lockIno === st.ino && r.lockBirth === st.birthtimeMs;

export interface LockInspection {
  exists: boolean;
  owner?: Owner;
  /** ms since the lock was acquired (owner record), else since its directory was created. */
  ageMs?: number;
  /** ms since the last heartbeat. */
  heartbeatAgeMs?: number;
  liveness: Liveness;
  stale: boolean;
}

export async function inspectLock(paths: IngestPaths, opts: LockOptions = DEFAULT_LOCK_OPTIONS): Promise<LockInspection> {
  let st;
  try {
    st = await stat(paths.lock);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { exists: false, liveness: 'unknown', stale: false };
    throw err;
  }
  const now = Date.now();
  let rec: OwnerRecord | undefined;
  try {
    const r = unpack(await readFile(paths.owner)) as OwnerRecord;
    if (r && typeof r === 'object' && sameLock(r, st)) rec = r;
  } catch {
    // missing or torn: identity unknown, staleness falls back to the heartbeat
  }
  const owner: Owner | undefined = rec ? { pid: rec.pid, host: rec.host, bootId: rec.bootId, startTicks: rec.startTicks } : undefined;
  const liveness = ownerLiveness(owner);
  const heartbeatAgeMs = now - st.mtimeMs;
  const born = rec?.acquiredAt ?? (st.birthtimeMs > 0 ? st.birthtimeMs : st.ctimeMs);
  return {
    exists: true,
    owner,
    ageMs: Math.max(0, now - born),
    heartbeatAgeMs,
    liveness,
    stale: liveness === 'dead' || heartbeatAgeMs > opts.staleMs,
  };
}

/**
 * What an ingest is, by its lock: `active` (held by a live owner), `stale` (held by a dead
 * owner or a stopped heartbeat) or `idle` (no lock: resumable, nobody holds it).
 */
export function ingestState(insp: LockInspection | undefined): IngestState {
  return !insp?.exists ? 'idle' : insp.stale ? 'stale' : 'active';
}

export class RefLock {
  private releaseFn: (() => Promise<void>) | undefined;
  compromised: ContentError | undefined;

  constructor(
    readonly ref: string,
    readonly paths: IngestPaths,
  ) {}

  /** @internal */
  bind(release: () => Promise<void>): void {
    this.releaseFn = release;
  }

  /** Throws LockCompromised if another process took the lock from us. */
  check(): void {
    if (this.compromised) throw this.compromised;
  }

  get held(): boolean {
    return this.releaseFn !== undefined && !this.compromised;
  }

  /** Idempotent; never throws for a lock already lost. */
  async release(): Promise<void> {
    const fn = this.releaseFn;
    this.releaseFn = undefined;
    if (!fn) return;
    if (!this.compromised) await rm(this.paths.owner, { force: true }).catch(() => {});
    try {
      await fn();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ERELEASED' && code !== 'ENOTACQUIRED' && code !== 'ENOENT') throw err;
    }
  }
}

function heldError(ref: string, insp: LockInspection): ContentError {
  const holder = insp.owner ? `held by pid ${insp.owner.pid} on ${insp.owner.host}` : 'held by an unknown process';
  const age = insp.ageMs !== undefined ? ` for ${(insp.ageMs / 1000).toFixed(1)}s` : '';
  return unavailable('ERR_REF_LOCKED', `ref ${JSON.stringify(ref)} is locked: ${holder}${age}`, {
    ref,
    holder: insp.owner ? { pid: insp.owner.pid, host: insp.owner.host, ageMs: insp.ageMs } : undefined,
  });
}

/**
 * Removes a stale lock under the takeover guard. Returns true when the lock is gone
 * (removed by us or released meanwhile), false when someone else is taking it over or it
 * turned out not to be stale.
 */
async function takeOver(paths: IngestPaths, opts: LockOptions): Promise<boolean> {
  if (!(await takeGuard(paths))) return false;
  try {
    crashpoint('takeover:in-guard');
    const insp = await inspectLock(paths, opts);
    if (!insp.exists) return true;
    if (!insp.stale) return false;
    diag.lockTakeover.publish({ paths, owner: insp.owner, liveness: insp.liveness });
    await rm(paths.owner, { force: true });
    await rmdir(paths.lock).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    return true;
  } finally {
    await rmdir(paths.guard).catch(() => {});
  }
}

/** Creates the takeover guard; a guard left by a crashed taker is removed and retried once. */
async function takeGuard(paths: IngestPaths): Promise<boolean> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await mkdir(paths.guard);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const g = await stat(paths.guard).catch(() => undefined);
      if (g && Date.now() - g.mtimeMs <= GUARD_STALE_MS) return false;
      await rmdir(paths.guard).catch(() => {});
    }
  }
  return false;
}

function takeoverError(ref: string, insp: LockInspection): ContentError {
  const prev = insp.owner ? ` from pid ${insp.owner.pid} on ${insp.owner.host}` : '';
  return unavailable('ERR_REF_LOCKED', `ref ${JSON.stringify(ref)} is being taken over${prev} by another process`, {
    ref,
    holder: insp.owner ? { pid: insp.owner.pid, host: insp.owner.host, ageMs: insp.ageMs } : undefined,
  });
}

/** One attempt: take the lock, or take over a stale one, or throw Unavailable naming the holder. */
export async function tryLock(ref: string, paths: IngestPaths, opts: LockOptions = DEFAULT_LOCK_OPTIONS): Promise<RefLock> {
  const lock = new RefLock(ref, paths);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const release = await lockfile.lock(paths.dir, {
        lockfilePath: paths.lock,
        realpath: false,
        stale: NEVER_STALE,
        update: opts.updateMs,
        retries: 0,
        onCompromised: (err) => {
          lock.compromised = lockCompromised('ERR_LOCK_COMPROMISED', `lock on ref ${JSON.stringify(ref)} was lost: ${err.message}`, { ref });
          diag.lockCompromised.publish({ ref, error: err });
        },
      });
      lock.bind(release);
      crashpoint('lock:before-owner');
      const st = await stat(paths.lock);
      const rec: OwnerRecord = { ...currentOwner(), lockIno: st.ino, lockBirth: st.birthtimeMs, acquiredAt: Date.now() };
      await writeFile(paths.owner, pack(rec));
      return lock;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && attempt === 0) {
        // No ingest/ yet (a new store) or it was removed: create it and retry.
        await lock.release().catch(() => {});
        await mkdir(dirname(paths.lock), { recursive: true });
        continue;
      }
      if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') {
        await lock.release().catch(() => {});
        throw wrapSystemError(err, `locking ref ${JSON.stringify(ref)}`, { ref });
      }
    }
    const insp = await inspectLock(paths, opts);
    if (insp.exists && !insp.stale) {
      diag.lockContend.publish({ ref, owner: insp.owner });
      throw heldError(ref, insp);
    }
    if (insp.exists && !(await takeOver(paths, opts))) {
      // Lost the race to take over a stale lock: name it as such, not the dead holder.
      const now = await inspectLock(paths, opts);
      throw now.exists && !now.stale ? heldError(ref, now) : takeoverError(ref, now);
    }
  }
  throw heldError(ref, await inspectLock(paths, opts));
}

/**
 * Waits until the ref can be locked. Release is noticed through an fs watch on the lock
 * directory (inotify: sub-millisecond), backed by jittered exponential polling for file
 * systems without change notification and for heartbeat staleness.
 */
export async function waitLock(
  ref: string,
  paths: IngestPaths,
  opts: LockOptions,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<RefLock> {
  const deadline = Date.now() + timeoutMs;
  let backoff = 10;
  for (;;) {
    if (signal?.aborted) throw canceled('ERR_CANCELED', `waiting for ref ${JSON.stringify(ref)} was canceled`, { ref });
    let lastErr: ContentError;
    try {
      return await tryLock(ref, paths, opts);
    } catch (err) {
      if ((err as ContentError).kind !== 'Unavailable') throw err;
      lastErr = err as ContentError;
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw lastErr;
    const delay = Math.min(remaining, backoff * (0.5 + Math.random()));
    // A release is seen at once through the watch; a holder that dies without releasing is
    // not. On this host its death is cheap to check (a /proc read), so poll often; a
    // holder elsewhere is recovered by heartbeat staleness, which needs no quick polling.
    const local = lastErr.details.holder?.host === currentOwner().host;
    backoff = Math.min(backoff * 2, local ? 50 : 1_000);
    await changeOrTimeout(paths.lock, delay, signal);
  }
}

/** Resolves on any change to `path` (including its removal), after `ms`, or on abort. */
function changeOrTimeout(path: string, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    let watcher: FSWatcher | undefined;
    const done = () => {
      clearTimeout(timer);
      watcher?.close();
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    try {
      watcher = watch(path, { persistent: false }, done);
      watcher.on('error', done);
    } catch {
      // the lock vanished before we could watch it: retry now
      return done();
    }
    // Released between our failed attempt and the watch being armed? Then retry now.
    stat(path).catch(done);
  });
}
