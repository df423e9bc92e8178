/**
 * Prune: remove idle and stale ingests older than a given age, orphaned lock/owner files and
 * crash debris, as a pipeline of named steps that each report their own timing.
 *
 * Safety: an ingest is removed only while holding its ref lock (taken normally, or taken
 * over because its holder is provably dead or its heartbeat stopped). An ingest whose lock
 * is held by a live owner is never touched.
 */
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { IngestState } from '../content/types.js';
import { ingestState, inspectLock, tryLock, type LockOptions } from './lock.js';
import { ingestKeys } from './ingests.js';
import { ingestPathsForKey, ingestRoot, type IngestPaths } from './paths.js';
import { readStatus } from './status-file.js';
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
  steps: StepTiming[];
}

async function mtimeMs(path: string): Promise<number | undefined> {
  return stat(path).then(
    (s) => s.mtimeMs,
    () => undefined,
  );
}

async function exists(path: string): Promise<boolean> {
  return (await mtimeMs(path)) !== undefined;
}

/** Removes one ingest under its lock; false when a live owner holds it. */
async function removeUnderLock(paths: IngestPaths, label: string, lockOpts: LockOptions): Promise<boolean> {
  let lock;
  try {
    lock = await tryLock(label, paths, lockOpts);
  } catch {
    return false;
  }
  try {
    await rm(paths.dir, { recursive: true, force: true });
  } finally {
    await lock.release();
  }
  return true;
}

export async function pruneIngests(root: string, lockOpts: LockOptions, options: PruneOptions = {}): Promise<PruneResult> {
  const olderThan = options.olderThanMs ?? 0;
  const dryRun = !!options.dryRun;
  const result: PruneResult = { dryRun, removed: [], kept: 0, steps: [] };
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
      if (state === 'active' || ageMs < olderThan) {
        result.kept++;
        continue;
      }
      const offset = await stat(paths.data).then(
        (s) => s.size,
        () => 0,
      );
      if (dryRun || (await removeUnderLock(paths, record?.ref ?? key, lockOpts))) {
        result.removed.push({ key, ref: record?.ref, offset, state, ageMs });
      } else {
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
      const ownerOnly = !lock.exists && (await exists(paths.owner));
      if (!lock.exists && !ownerOnly) continue;
      if (!dryRun) {
        if (lock.exists) {
          if (!(await removeUnderLock(paths, key, lockOpts))) continue;
        } else {
          await rm(paths.owner, { force: true });
        }
      }
      result.removed.push({ key, offset: 0, state: 'orphan', ageMs: lock.heartbeatAgeMs ?? 0 });
    }
  });

  await step('debris', async () => {
    // Temp files of whole-file ingests (`.add-*`) and takeover guards left by a crash.
    let names: string[] = [];
    try {
      names = await readdir(ingestRoot(root));
    } catch {
      return;
    }
    for (const n of names) {
      if (!n.startsWith('.') && !n.endsWith('.takeover')) continue;
      const p = join(ingestRoot(root), n);
      const t = await mtimeMs(p);
      if (t === undefined) continue;
      const ageMs = now - t;
      // Debris is only ever written by a live process for seconds; wait well past that.
      if (ageMs < Math.max(olderThan, 2 * lockOpts.staleMs)) continue;
      if (!dryRun) await rm(p, { recursive: true, force: true });
      result.removed.push({ key: n, offset: 0, state: 'debris', ageMs });
    }
  });

  return result;
}
