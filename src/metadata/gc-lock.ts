/**
 * The collector's exclusion, across processes and without a daemon: a shared/exclusive
 * lock made of files.
 *
 * - A *protecting* operation (a reader) — put a blob in a lease and check it is there, record
 *   a name — announces itself with a file in `<root>/gc/readers/`, then looks for the
 *   collector's lock `<root>/gc/exclusive.lock`. If a live collector holds it, the reader
 *   withdraws its file, waits for the lock to go, and tries again.
 * - The collector takes `gc/exclusive.lock` (a ref lock: ../local/lock.ts), then waits until
 *   no live reader's file is left.
 *
 * Each side writes before it reads, so they cannot miss each other: if the reader did not see
 * the lock, its file was created before the lock, and the collector's listing (after its lock)
 * sees the file. So while the collector marks and sweeps, no protection is added, and every
 * protection added before is in place: what the collector keeps is exactly what is protected.
 * Reader sections are short (a few file operations); a dead reader's file is ignored (its pid
 * is gone), a live one — even stopped — is waited for, like a live lock holder.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, open, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { pack, unpack } from 'msgpackr/pack';
import type { Owner } from '../content/types.js';
import { canceled, unavailable } from '../errors.js';
import { inspectLock, waitLock, type LockOptions } from '../local/lock.js';
import { currentOwner, ownerLiveness } from '../local/owner.js';
import { recordLockPaths } from '../local/record-lock.js';
import { readRecordSync } from '../local/safe-fs.js';
import { makeDir, type TrustPolicy } from '../local/trust.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function gcDir(root: string): string {
  return join(root, 'gc');
}

function exclusivePaths(root: string) {
  return recordLockPaths(join(gcDir(root), 'exclusive'));
}

function readersDir(root: string): string {
  return join(gcDir(root), 'readers');
}

export interface GcLockOptions {
  lock: LockOptions;
  /** How long a reader or the collector waits before Unavailable (default 10 min). */
  waitMs?: number;
  signal?: AbortSignal;
}

/** Runs `fn` as a protecting operation: never while a collector marks or sweeps. */
export async function readSection<T>(trust: TrustPolicy, opts: GcLockOptions, fn: () => Promise<T>): Promise<T> {
  const dir = readersDir(trust.root);
  await makeDir(trust, dir);
  const deadline = Date.now() + (opts.waitMs ?? 600_000);
  let backoff = 2;
  for (;;) {
    const name = join(dir, `${process.pid}-${randomBytes(6).toString('hex')}`);
    const fh = await open(name, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, trust.fileMode);
    try {
      await fh.write(pack(currentOwner()));
    } finally {
      await fh.close();
    }
    const collector = await inspectLock(exclusivePaths(trust.root), opts.lock);
    if (!collector.exists || collector.stale) {
      try {
        return await fn();
      } finally {
        await unlink(name).catch(() => {});
      }
    }
    await unlink(name).catch(() => {});
    if (opts.signal?.aborted) throw canceled('ERR_CANCELED', 'waiting for the garbage collector was canceled');
    if (Date.now() > deadline) {
      throw unavailable('ERR_GC_RUNNING', `the garbage collector (pid ${collector.owner?.pid ?? '?'} on ${collector.owner?.host ?? '?'}) holds the store`, {
        holder: collector.owner ? { pid: collector.owner.pid, host: collector.owner.host, ageMs: collector.ageMs } : undefined,
      });
    }
    await sleep(backoff * (0.5 + Math.random()));
    backoff = Math.min(backoff * 2, 50);
  }
}

/** Live readers' files (a dead reader's file is removed on the way). */
async function liveReaders(root: string): Promise<number> {
  const dir = readersDir(root);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  let live = 0;
  for (const n of names) {
    const p = join(dir, n);
    const buf = readRecordSync(p, 1024);
    let owner: Owner | undefined;
    try {
      owner = buf && buf.length ? (unpack(buf) as Owner) : undefined;
    } catch {
      owner = undefined;
    }
    if (owner && ownerLiveness(owner) === 'dead') {
      await unlink(p).catch(() => {});
      continue;
    }
    if (!owner) {
      // Being written, or left by a crash mid-write: young ones count, old ones are debris.
      const st = await lstat(p).catch(() => undefined);
      if (!st) continue;
      if (Date.now() - st.mtimeMs > 60_000) {
        await unlink(p).catch(() => {});
        continue;
      }
    }
    live++;
  }
  return live;
}

/** Runs `fn` as the collector: alone, and with no protecting operation in progress. */
export async function exclusiveSection<T>(trust: TrustPolicy, opts: GcLockOptions, fn: () => Promise<T>): Promise<T> {
  await makeDir(trust, gcDir(trust.root));
  const waitMs = opts.waitMs ?? 600_000;
  const lock = await waitLock('gc', exclusivePaths(trust.root), opts.lock, waitMs, opts.signal, {
    fileMode: trust.fileMode,
    makeDir: (d) => makeDir(trust, d),
  });
  try {
    const deadline = Date.now() + waitMs;
    let backoff = 1;
    while ((await liveReaders(trust.root)) > 0) {
      if (opts.signal?.aborted) throw canceled('ERR_CANCELED', 'garbage collection was canceled');
      if (Date.now() > deadline) throw unavailable('ERR_GC_READERS', 'protecting operations kept the store busy: garbage collection gave up', {});
      await sleep(backoff);
      backoff = Math.min(backoff * 2, 50);
    }
    await lock.verify();
    return await fn();
  } finally {
    await lock.release();
  }
}
