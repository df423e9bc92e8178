/**
 * Ref locks across processes, without a daemon.
 *
 * A lock is the directory `ingest/<key>.lock`, kept fresh by proper-lockfile's heartbeat
 * (mtime updates), with its holder's identity inside (./lock-owner.ts, which also says when a
 * lock is stale). It is made atomically *with* that identity: a private directory is
 * prepared with the owner record in it, then renamed to the lock's name — rename fails on an
 * existing (non-empty) lock, as mkdir would — so no process, however it is paused, ever holds
 * a lock whose owner is unknown. proper-lockfile's own stale
 * removal is racy and is switched off; takeover happens here, under the takeover guard
 * (./lock-guard.ts), after judging the lock stale again while holding the guard: a fresh or
 * live holder's lock is never removed, and with N contenders exactly one creates the
 * replacement (mkdir decides).
 *
 * Every removal of a lock is by identity: proper-lockfile is given a file-system port whose
 * rmdir (release, and its exit hook) removes the lock directory only while it is still the
 * one this process created, and whose heartbeat stat reports a replaced lock as lost. A
 * process that lost its lock therefore never removes its successor's.
 *
 * Losing a lock never throws asynchronously: it is recorded, and the writer fails its next
 * call with LockCompromised. Integrity never rests on the lock alone: a writer that finds the
 * previous holder of an ingest possibly alive moves the ingest to new files (./fence.ts), and
 * a commit publishes only the file it wrote itself (./publish.ts).
 */
import * as fs from 'node:fs';
import { lstat, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import lockfile from 'proper-lockfile';
import { canceled, lockCompromised, unavailable, wrapSystemError, type ContentError } from '../errors.js';
import { diag } from '../diagnostics.js';
import { crashpoint } from '../testing/crashpoint.js';
import { releaseGuard, takeGuard } from './lock-guard.js';
import { DEFAULT_LOCK_OPTIONS, inspectLock, ownerRecord, type LockInspection, type LockOptions } from './lock-owner.js';
import { currentOwner } from './owner.js';
import type { IngestPaths } from './paths.js';
import { idOf, privateName, removeIfSame, sameFile, type FileId } from './safe-fs.js';

export { DEFAULT_LOCK_OPTIONS, ingestState, inspectLock, type LockInspection, type LockOptions } from './lock-owner.js';

/** Effectively "never": disables proper-lockfile's racy stale removal. */
const NEVER_STALE = 2 ** 31 - 1;

export interface LockRequest {
  /** Take the lock over even from a live holder: an operator's explicit action. */
  force?: boolean;
  /** Mode of the owner record file (the store's file mode). */
  fileMode?: number;
  /** Creates the ingest directory when missing (the store's modes; default: plain mkdir). */
  makeDir?: (dir: string) => Promise<void>;
}

export class RefLock {
  private releaseFn: (() => Promise<void>) | undefined;
  /** Identity of the lock directory this process created. */
  id: FileId | undefined;
  compromised: ContentError | undefined;

  constructor(
    readonly ref: string,
    readonly paths: IngestPaths,
  ) {}

  /** @internal */
  bind(release: () => Promise<void>): void {
    this.releaseFn = release;
  }

  lose(reason: string): ContentError {
    this.compromised ??= lockCompromised('ERR_LOCK_COMPROMISED', `lock on ref ${JSON.stringify(this.ref)} was lost: ${reason}`, { ref: this.ref });
    return this.compromised;
  }

  /** Throws LockCompromised if the lock is known to be lost. */
  check(): void {
    if (this.compromised) throw this.compromised;
  }

  /**
   * Checks on disk, now, that the lock directory is still the one we created (a heartbeat
   * may not have noticed a takeover yet). Throws LockCompromised otherwise.
   */
  async verify(): Promise<void> {
    this.check();
    const st = await lstat(this.paths.lock).catch(() => undefined);
    if (!st || !sameFile(idOf(st), this.id)) throw this.lose(st ? 'another process took it over' : 'it was removed');
  }

  get held(): boolean {
    return this.releaseFn !== undefined && !this.compromised;
  }

  /** Idempotent; removes only what is still ours; never throws for a lock already lost. */
  async release(): Promise<void> {
    const fn = this.releaseFn;
    this.releaseFn = undefined;
    if (!fn) return;
    try {
      await fn();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ERELEASED' && code !== 'ENOTACQUIRED' && code !== 'ENOENT') throw err;
    }
  }
}

/**
 * proper-lockfile's file-system port for one lock:
 * - mkdir makes the lock with its owner record inside (prepare privately, then rename);
 * - removal (release, and the exit hook) only while the lock directory is still ours;
 * - a heartbeat that finds another directory reports the lock as lost (ENOENT makes
 *   proper-lockfile call onCompromised).
 */
function identityFs(lock: RefLock, fileMode: number) {
  const replaced = () => Object.assign(new Error('lock directory replaced'), { code: 'ENOENT' });
  const owner = (dir: string) => `${dir}/owner`;
  return {
    ...fs,
    mkdir(path: string, cb: (err: NodeJS.ErrnoException | null) => void) {
      const prep = privateName(dirname(path), 'lockprep');
      const fail = (err: NodeJS.ErrnoException) => fs.rm(prep, { recursive: true, force: true }, () => cb(err));
      fs.mkdir(prep, (err) => {
        if (err) return cb(err);
        const flags = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW;
        fs.open(owner(prep), flags, fileMode, (oerr, fd) => {
          if (oerr) return fail(oerr);
          const rec = ownerRecord();
          fs.write(fd, rec, 0, rec.length, 0, (werr) => fs.close(fd, () => {
            if (werr) return fail(werr);
            crashpoint('lock:before-rename');
            fs.rename(prep, path, (rerr) => {
            if (!rerr) return cb(null);
            // A lock exists there (a non-empty directory): the same answer mkdir gives.
              if (rerr.code === 'ENOTEMPTY' || rerr.code === 'EEXIST' || rerr.code === 'ENOTDIR') rerr = Object.assign(rerr, { code: 'EEXIST' });
              fail(rerr);
            });
          }));
        });
      });
    },
    stat(path: string, cb: (err: Error | null, st?: fs.Stats) => void) {
      fs.stat(path, (err, st) => {
        if (!err && lock.id && !sameFile(idOf(st), lock.id)) return cb(replaced());
        cb(err, st);
      });
    },
    // Release: the lock's name is moved to a private one (atomic: nobody can slip a lock in
    // between a check and a removal), checked to be ours, then removed; a lock that is not
    // ours is put back (a lock is never empty, so that rename cannot replace another lock).
    rmdir(path: string, cb: (err: Error | null) => void) {
      fs.lstat(path, (err, st) => {
        if (err) return cb(err.code === 'ENOENT' ? null : err);
        if (!lock.id || !sameFile(idOf(st), lock.id)) return cb(null);
        removeIfSame(path, lock.id).then(
          () => cb(null),
          (e: NodeJS.ErrnoException) => cb(e.code === 'ENOENT' ? null : e),
        );
      });
    },
    rmdirSync(path: string) {
      const st = fs.lstatSync(path, { throwIfNoEntry: false });
      if (!st || !lock.id || !sameFile(idOf(st), lock.id)) return;
      const trash = privateName(dirname(path), 'trash');
      fs.renameSync(path, trash);
      const moved = fs.lstatSync(trash);
      if (sameFile(idOf(moved), lock.id)) fs.rmSync(trash, { recursive: true, force: true });
      else fs.renameSync(trash, path);
    },
  };
}

function heldError(ref: string, insp: LockInspection): ContentError {
  const holder = insp.owner ? `held by pid ${insp.owner.pid} on ${insp.owner.host}` : 'held by an unknown process';
  const age = insp.ageMs !== undefined ? ` for ${(insp.ageMs / 1000).toFixed(1)}s` : '';
  const stalled = insp.stalled
    ? `; its heartbeat stopped ${((insp.heartbeatAgeMs ?? 0) / 1000).toFixed(1)}s ago but the process is alive (stopped?): it keeps the ref until it exits, or \`dist abort --force\` takes it over`
    : '';
  return unavailable('ERR_REF_LOCKED', `ref ${JSON.stringify(ref)} is locked: ${holder}${age}${stalled}`, {
    ref,
    holder: insp.owner ? { pid: insp.owner.pid, host: insp.owner.host, ageMs: insp.ageMs } : undefined,
    stalled: insp.stalled || undefined,
  });
}

function takeoverError(ref: string, insp: LockInspection): ContentError {
  const prev = insp.owner ? ` from pid ${insp.owner.pid} on ${insp.owner.host}` : '';
  return unavailable('ERR_REF_LOCKED', `ref ${JSON.stringify(ref)} is being taken over${prev} by another process`, {
    ref,
    holder: insp.owner ? { pid: insp.owner.pid, host: insp.owner.host, ageMs: insp.ageMs } : undefined,
  });
}

/**
 * Removes a stale lock (or, forced, any lock) under the takeover guard. Returns true when
 * the lock is gone (removed by us or released meanwhile), false when another taker is at
 * work or the lock turned out not to be takeable.
 */
async function takeOver(paths: IngestPaths, opts: LockOptions, force: boolean): Promise<boolean> {
  const guard = await takeGuard(paths, opts);
  if (!guard) return false;
  try {
    crashpoint('takeover:in-guard');
    const insp = await inspectLock(paths, opts);
    if (!insp.exists) return true;
    if (!insp.stale && !force) return false;
    diag.lockTakeover.publish({ paths, owner: insp.owner, liveness: insp.liveness, forced: force && !insp.stale });
    // Under the guard no other taker acts, and a live holder only ever removes its own lock:
    // the directory is still the one judged unless its holder released it meanwhile.
    const st = await lstat(paths.lock).catch(() => undefined);
    if (!st) return true;
    if (!sameFile(idOf(st), insp.id)) return false;
    // Moved to a private name, checked again, then removed with its owner record.
    return (await removeIfSame(paths.lock, insp.id!)) !== 'foreign';
  } finally {
    await releaseGuard(paths, guard);
  }
}

async function acquire(lock: RefLock, paths: IngestPaths, opts: LockOptions, fileMode: number): Promise<void> {
  const release = await lockfile.lock(paths.dir, {
    lockfilePath: paths.lock,
    realpath: false,
    stale: NEVER_STALE,
    update: opts.updateMs,
    retries: 0,
    fs: identityFs(lock, fileMode),
    onCompromised: (err) => {
      lock.lose(err.message);
      diag.lockCompromised.publish({ ref: lock.ref, error: err });
    },
  });
  lock.bind(release);
  lock.id = idOf(await lstat(paths.lock));
}

/** One attempt: take the lock, or take over a stale one, or throw Unavailable naming the holder. */
export async function tryLock(
  ref: string,
  paths: IngestPaths,
  opts: LockOptions = DEFAULT_LOCK_OPTIONS,
  req: LockRequest = {},
): Promise<RefLock> {
  const force = !!req.force;
  for (let attempt = 0; attempt < 3; attempt++) {
    const lock = new RefLock(ref, paths);
    try {
      await acquire(lock, paths, opts, req.fileMode ?? 0o644);
      return lock;
    } catch (err) {
      await lock.release().catch(() => {});
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && attempt === 0) {
        // No ingest/ yet (a new store) or it was removed: create it and retry.
        await (req.makeDir ? req.makeDir(dirname(paths.lock)) : mkdir(dirname(paths.lock), { recursive: true }));
        continue;
      }
      if (code !== 'ELOCKED') throw wrapSystemError(err, `locking ref ${JSON.stringify(ref)}`, { ref });
    }
    const insp = await inspectLock(paths, opts);
    if (insp.exists && !insp.stale && !force) {
      diag.lockContend.publish({ ref, owner: insp.owner, stalled: insp.stalled, ageMs: insp.ageMs });
      throw heldError(ref, insp);
    }
    if (insp.exists && !(await takeOver(paths, opts, force))) {
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
  req: LockRequest = {},
): Promise<RefLock> {
  const deadline = Date.now() + timeoutMs;
  let backoff = 10;
  for (;;) {
    if (signal?.aborted) throw canceled('ERR_CANCELED', `waiting for ref ${JSON.stringify(ref)} was canceled`, { ref });
    let lastErr: ContentError;
    try {
      return await tryLock(ref, paths, opts, req);
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
    let watcher: fs.FSWatcher | undefined;
    const done = () => {
      clearTimeout(timer);
      watcher?.close();
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    try {
      watcher = fs.watch(path, { persistent: false }, done);
      watcher.on('error', done);
    } catch {
      // the lock vanished before we could watch it: retry now
      return done();
    }
    // Released between our failed attempt and the watch being armed? Then retry now.
    lstat(path).catch(done);
  });
}
