/**
 * The lock index.json updaters take (`index.json.lock`, proper-lockfile), with an identity:
 * right after taking it, the holder writes a random token to `index.json.lock.owner`.
 * proper-lockfile alone cannot tell a holder that it lost the lock — a holder frozen past
 * the stale time (SIGSTOP, a suspended VM) wakes up still believing it holds it, while
 * another process took it over. `held()` answers that: false once the lock was reported
 * compromised or the owner file no longer carries our token (a newer holder wrote its own,
 * or released and removed it).
 *
 * A holder that finds it lost the lock must not release it: the directory now belongs to
 * someone else, and proper-lockfile would remove it. Its own timer notices the foreign
 * mtime and drops the lock quietly (onCompromised never throws here).
 */
import { randomBytes } from 'node:crypto';
import { open, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import lockfile from 'proper-lockfile';
import { unavailable } from '../errors.js';

export interface IndexLockOptions {
  /** A holder silent (no heartbeat) this long is taken over. Default 10 s; at least 2 s. */
  staleMs?: number;
}

export interface IndexLock {
  /** True while the lock is still ours. Check it right before changing what it guards. */
  held(): Promise<boolean>;
  /** Releases the lock if it is still ours; a lost lock is left to its new holder. */
  release(): Promise<void>;
}

const OWNER_MAX = 4096;

async function readOwner(path: string): Promise<string | undefined> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const buf = Buffer.alloc(OWNER_MAX);
    const { bytesRead } = await fh.read(buf, 0, OWNER_MAX, 0);
    return buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await fh.close();
  }
}

export async function lockIndex(file: string, o: IndexLockOptions = {}): Promise<IndexLock> {
  const lockPath = `${file}.lock`;
  const ownerPath = `${lockPath}.owner`;
  const stale = Math.max(2_000, o.staleMs ?? 10_000);
  let compromised = false;
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(file, {
      realpath: false,
      lockfilePath: lockPath,
      stale,
      update: Math.min(2_000, stale / 2),
      retries: { retries: 200, factor: 1.3, minTimeout: 5, maxTimeout: 200, randomize: true },
      onCompromised: () => {
        compromised = true;
      },
    });
  } catch (err) {
    throw unavailable('ERR_INDEX_LOCKED', `cannot lock ${file}: ${(err as Error).message}`, { path: lockPath });
  }
  // Written before the guarded file is read, so a holder that took over from us is visible
  // to our held() before it can have read anything we might still overwrite.
  const token = `${process.pid}@${hostname()} ${randomBytes(12).toString('hex')}`;
  try {
    await writeFile(ownerPath, token);
  } catch (err) {
    await release().catch(() => {});
    throw unavailable('ERR_INDEX_LOCKED', `cannot write ${ownerPath}: ${(err as Error).message}`, { path: ownerPath });
  }
  const held = async () => !compromised && (await readOwner(ownerPath)) === token;
  return {
    held,
    async release() {
      if (!(await held())) return;
      await rm(ownerPath, { force: true });
      await release().catch(() => {});
    },
  };
}
