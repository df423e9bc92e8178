/**
 * A lock on one small metadata record (a blob's labels, a lease): the store's ref lock
 * (./lock.ts) under the name `<record>.lock`, so it follows the same rules — the owner is
 * inside the lock from its first instant, a live holder on this host is waited for however
 * long it is paused, removal is by identity. Records are rewritten with tmp + rename inside
 * the lock, so a reader never needs it.
 */
import { dirname } from 'node:path';
import { waitLock, type LockOptions, type RefLock } from './lock.js';
import type { IngestPaths } from './paths.js';
import type { TrustPolicy } from './trust.js';
import { makeDir } from './trust.js';

/** How long a metadata update waits for a busy record before Unavailable. */
export const RECORD_WAIT_MS = 60_000;

export function recordLockPaths(record: string): IngestPaths {
  const lock = `${record}.lock`;
  return { key: record, dir: `${record}.unused`, data: '', status: '', lock, owner: `${lock}/owner`, guard: `${lock}.takeover` };
}

/**
 * Runs `fn` holding the lock of `record` (its directory is created when missing). `fn` gets
 * `stillHeld`, to call right before the rename that publishes its change: a holder that lost
 * the lock (forced away, or on another host and paused past staleMs) changes nothing.
 */
export async function withRecordLock<T>(
  trust: TrustPolicy,
  record: string,
  what: string,
  opts: LockOptions,
  fn: (stillHeld: () => Promise<void>) => Promise<T>,
): Promise<T> {
  await makeDir(trust, dirname(record));
  const lock: RefLock = await waitLock(what, recordLockPaths(record), opts, RECORD_WAIT_MS, undefined, {
    fileMode: trust.fileMode,
    makeDir: (d) => makeDir(trust, d),
  });
  try {
    return await fn(() => lock.verify());
  } finally {
    await lock.release();
  }
}
