/**
 * The lock index.json updaters take: the store's own ref lock (src/local/lock.ts) on the
 * name `index.json.lock`, so it follows the same rules — a holder alive on this host keeps
 * it however long it is paused, a dead one is taken over at once, one on another host after
 * its heartbeat is `staleMs` old, and every removal is by identity (a holder that lost the
 * lock never removes its successor's, not even from its exit hook).
 *
 * `held()` checks on disk, right before the rename it guards, that the lock directory is
 * still the one we created: a holder on another host, or one taken over by force, finds it
 * is not and changes nothing.
 */
import { dirname, join } from 'node:path';
import { isKind, unavailable } from '../errors.js';
import { waitLock } from '../local/lock.js';
import type { IngestPaths } from '../local/paths.js';

export interface IndexLockOptions {
  /** A holder on another host silent (no heartbeat) this long is taken over. Default 10 s; at least 2 s. */
  staleMs?: number;
  /** How long to wait for the lock before Unavailable (default 60 s). */
  waitMs?: number;
}

export interface IndexLock {
  /** True while the lock is still ours. Check it right before changing what it guards. */
  held(): Promise<boolean>;
  /** Releases the lock if it is still ours; a lost lock is left to its new holder. */
  release(): Promise<void>;
}

/** The lock's files beside `file`, in the shape the ref lock expects. */
function lockPaths(file: string): IngestPaths {
  const lock = `${file}.lock`;
  return { key: 'index', dir: join(dirname(file), '.index-unused'), data: '', status: '', lock, owner: `${lock}/owner`, guard: `${lock}.takeover` };
}

export async function lockIndex(file: string, o: IndexLockOptions = {}): Promise<IndexLock> {
  const staleMs = Math.max(2_000, o.staleMs ?? 10_000);
  let lock;
  try {
    lock = await waitLock('index.json', lockPaths(file), { staleMs, updateMs: Math.max(1_000, staleMs / 4) }, o.waitMs ?? 60_000);
  } catch (err) {
    if (isKind(err, 'Unavailable')) throw unavailable('ERR_INDEX_LOCKED', `cannot lock ${file}: ${err.message}`, { ...err.details, path: `${file}.lock` });
    throw err;
  }
  const held = () => lock.verify().then(
    () => true,
    () => false,
  );
  return { held, release: () => lock.release() };
}
