/**
 * The takeover guard `<key>.takeover`: a file created with O_EXCL that names its taker, held
 * for the milliseconds one taker needs to judge a lock stale again and remove it. With the
 * guard held, no other taker acts on the lock, so "still the lock we judged" followed by its
 * removal cannot be interleaved with another takeover.
 *
 * A guard is given up by its taker, or found stale by the same rule as a lock: its taker is
 * dead, or of unknown liveness (another host, no readable record) and the guard is older
 * than `staleMs`. A taker that is alive here keeps its guard however long it is paused, so
 * a second taker never enters while the first can still act.
 */
import { constants } from 'node:fs';
import { lstat, open } from 'node:fs/promises';
import { pack, unpack } from 'msgpackr/pack';
import type { Owner } from '../content/types.js';
import { currentOwner, ownerLiveness } from './owner.js';
import type { LockOptions } from './lock-owner.js';
import type { IngestPaths } from './paths.js';
import { idOf, readRecordSync, removeIfSame, type FileId } from './safe-fs.js';

const CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

export interface Guard {
  id: FileId;
}

function guardOwner(path: string): Owner | undefined {
  const buf = readRecordSync(path, 1024);
  if (!buf || buf.length === 0 || buf.length >= 1024) return undefined;
  try {
    const r = unpack(buf) as Owner;
    return r && typeof r === 'object' && typeof r.pid === 'number' && typeof r.host === 'string' ? r : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the guard at `paths.guard` (lstat `st`) may be removed: its taker is gone. */
export function guardIsStale(paths: IngestPaths, st: { isFile(): boolean; mtimeMs: number }, opts: LockOptions): boolean {
  // A guard directory is the previous format's: no record, judged by age.
  const liveness = ownerLiveness(st.isFile() ? guardOwner(paths.guard) : undefined);
  return liveness === 'dead' || (liveness === 'unknown' && Date.now() - st.mtimeMs > opts.staleMs);
}

/** Takes the guard, removing a stale one first; undefined while another taker is at work. */
export async function takeGuard(paths: IngestPaths, opts: LockOptions): Promise<Guard | undefined> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(paths.guard, CREATE, 0o644);
      try {
        await fh.write(pack(currentOwner()));
        return { id: idOf(await fh.stat()) };
      } finally {
        await fh.close();
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const st = await lstat(paths.guard).catch(() => undefined);
    if (!st) continue; // given up meanwhile: try again
    if (!guardIsStale(paths, st, opts)) return undefined;
    await removeIfSame(paths.guard, idOf(st));
  }
  return undefined;
}

export async function releaseGuard(paths: IngestPaths, guard: Guard): Promise<void> {
  await removeIfSame(paths.guard, guard.id).catch(() => {});
}
