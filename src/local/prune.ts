/**
 * Prune: remove idle and stale ingests older than a given age, orphaned lock/owner files and
 * crash debris, as a pipeline of named steps that each report their own timing.
 *
 * Safety: an ingest is removed only while holding its ref lock (taken normally, or taken
 * over because its holder is provably dead or its heartbeat stopped). An ingest whose lock
 * is held by a live owner is never touched.
 */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { IngestState } from '../content/types.js';
import { isKind, wrapSystemError, type ContentError } from '../errors.js';
import { ingestState, inspectLock, tryLock, type LockOptions } from './lock.js';
import { ingestKeys } from './ingests.js';
import { INGEST_KEY, ingestPathsForKey, ingestRoot, type IngestPaths } from './paths.js';
import { guardIsStale } from './lock-guard.js';
import { removeIngestDir } from './publish.js';
import { idOf, removeIfSame } from './safe-fs.js';
import { readStatus } from './status-file.js';
import type { TrustPolicy } from './trust.js';
import { stepTimer, type StepTiming } from '../steps.js';

export interface PruneOptions {
  /** Only ingests not updated for this long (default 0: all idle/stale). */
  olderThanMs?: number;
  dryRun?: boolean;
}

export interface PrunedIngest {
  key: string;
  ref?: string;
  offset: number;
  state: IngestState | 'orphan' | 'debris';
  ageMs: number;
}

export interface PruneResult {
  dryRun: boolean;
  removed: PrunedIngest[];
  /** Ingests left alone: held by a live owner, or younger than olderThanMs. */
  kept: number;
  /** Ingests that could not be removed, and why (e.g. permission denied). */
  failed: Array<{ key: string; ref?: string; error: ContentError }>;
  steps: StepTiming[];
}

async function mtimeMs(path: string): Promise<number | undefined> {
  return lstat(path).then(
    (s) => s.mtimeMs,
    () => undefined,
  );
}

async function exists(path: string): Promise<boolean> {
  return (await mtimeMs(path)) !== undefined;
}

/**
 * Removes one ingest under its lock; false when a live owner holds it. The directory removed
 * is the one found once the lock is ours (by identity); errors other than "held" propagate.
 */
async function removeUnderLock(root: string, paths: IngestPaths, label: string, lockOpts: LockOptions, trust?: TrustPolicy): Promise<boolean> {
  let lock;
  try {
    lock = await tryLock(label, paths, lockOpts, { fileMode: trust?.fileMode });
  } catch (err) {
    if (isKind(err, 'Unavailable')) return false;
    throw err;
  }
  try {
    const st = await lstat(paths.dir).catch(() => undefined);
    if (st) await removeIngestDir(paths.dir, idOf(st), ingestRoot(root));
  } finally {
    await lock.release();
  }
  return true;
}

export async function pruneIngests(root: string, lockOpts: LockOptions, options: PruneOptions = {}, trust?: TrustPolicy): Promise<PruneResult> {
  const olderThan = options.olderThanMs ?? 0;
  const dryRun = !!options.dryRun;
  const result: PruneResult = { dryRun, removed: [], kept: 0, failed: [], steps: [] };
  const attempt = async (key: string, ref: string | undefined, fn: () => Promise<boolean>): Promise<boolean> => {
    try {
      return await fn();
    } catch (err) {
      result.failed.push({ key, ref, error: wrapSystemError(err, `pruning ingest ${ref !== undefined ? JSON.stringify(ref) : key}`, { ref }) });
      return false;
    }
  };
  const step = stepTimer(result.steps);
  const now = Date.now();

  const keys = await step('scan', () => ingestKeys(root));

  await step('ingests', async () => {
    for (const key of keys) {
      const paths = ingestPathsForKey(root, key);
      const dirTime = await mtimeMs(paths.dir);
      if (dirTime === undefined) continue; // lock/owner without a dir: next step
      const [record, dataTime, lock] = await Promise.all([
        readStatus(paths.status),
        mtimeMs(paths.data),
        inspectLock(paths, lockOpts),
      ]);
      const state = ingestState(lock);
      const last = Math.max(record?.updatedAt ?? 0, dataTime ?? 0, dirTime);
      const ageMs = now - last;
      if (state === 'active' || state === 'stalled' || ageMs < olderThan) {
        result.kept++;
        continue;
      }
      const offset = await lstat(paths.data).then(
        (s) => s.size,
        () => 0,
      );
      if (dryRun || (await attempt(key, record?.ref, () => removeUnderLock(root, paths, record?.ref ?? key, lockOpts, trust)))) {
        result.removed.push({ key, ref: record?.ref, offset, state, ageMs });
      } else if (!result.failed.some((f) => f.key === key)) {
        result.kept++;
      }
    }
  });

  await step('orphans', async () => {
    for (const key of keys) {
      const paths = ingestPathsForKey(root, key);
      if (await exists(paths.dir)) continue;
      const lock = await inspectLock(paths, lockOpts);
      // A fresh lock without a dir may be a writer between lock and mkdir: leave it.
      if (lock.exists && !lock.stale) continue;
      // An owner record beside the lock: what an older version left when its lock went.
      const legacyOwner = join(ingestRoot(root), `${key}.owner`);
      const ownerOnly = !lock.exists && (await exists(legacyOwner));
      if (!lock.exists && !ownerOnly) continue;
      if (!dryRun) {
        if (lock.exists) {
          if (!(await attempt(key, undefined, () => removeUnderLock(root, paths, key, lockOpts, trust)))) continue;
        } else {
          const st = await lstat(legacyOwner).catch(() => undefined);
          if (st && !(await attempt(key, undefined, async () => (await removeIfSame(legacyOwner, idOf(st))) !== 'foreign'))) continue;
        }
      }
      result.removed.push({ key, offset: 0, state: 'orphan', ageMs: lock.heartbeatAgeMs ?? 0 });
    }
  });

  await step('debris', async () => {
    // Crash debris: temp files of whole-file ingests (`.add-*`), ingests moved aside
    // (`.fenced-*`, `.debris-*`), private names (`.commit-*`, `.trash-*`), and takeover
    // guards whose taker is gone.
    let names: string[] = [];
    try {
      names = await readdir(ingestRoot(root));
    } catch {
      return;
    }
    for (const n of names) {
      const guard = n.endsWith('.takeover') && INGEST_KEY.test(n.slice(0, -'.takeover'.length));
      if (!n.startsWith('.') && !guard) continue;
      const p = join(ingestRoot(root), n);
      const st = await lstat(p).catch(() => undefined);
      if (!st) continue;
      const ageMs = now - st.mtimeMs;
      if (guard) {
        // A live taker keeps its guard however long it is paused (./lock-guard.ts).
        if (!guardIsStale(ingestPathsForKey(root, n.slice(0, -'.takeover'.length)), st, lockOpts) || ageMs < olderThan) continue;
      } else if (ageMs < Math.max(olderThan, 2 * lockOpts.staleMs)) {
        // Debris is only ever written by a live process for seconds; wait well past that.
        continue;
      }
      if (!dryRun && !(await attempt(n, undefined, async () => (await removeIfSame(p, idOf(st))) !== 'foreign'))) continue;
      result.removed.push({ key: n, offset: 0, state: 'debris', ageMs });
    }
  });

  return result;
}
