/**
 * The snapshot database of one driver, shared by every process on the root:
 *
 *   <root>/snapshots/<driver>/metadata        every record (record.ts), replaced whole
 *   <root>/snapshots/<driver>/metadata.lock   proper-lockfile lock around read-modify-write
 *
 * A change is: lock → read the current file → apply the change → write a temp file, fsync
 * → rename over `metadata` → fsync the directory → unlock. The rename makes each change
 * atomic for readers and for crashes; the fsyncs make a change the caller was told about
 * survive a power loss (a snapshot reported committed stays committed). Readers never lock.
 *
 * Critical sections last milliseconds: long work (copying a parent, applying a layer,
 * measuring usage) happens before or after, never under the lock. A holder killed inside
 * one blocks the others for at most `staleMs` (proper-lockfile's mtime staleness).
 */
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { dataLoss, lockCompromised, unavailable, wrapSystemError } from '../errors.js';
import { crashpoint } from '../testing/crashpoint.js';
import { syncDir } from '../local/fsync.js';
import { scratchName } from './scratch.js';
import { decodeDb, emptyDb, encodeDb, MAX_DB_BYTES, type Db } from './record.js';

export interface MetadataOptions {
  /** A lock whose heartbeat is older than this is taken over (default 5 s, minimum 2 s). */
  staleMs?: number;
}

/**
 * What a transaction's change returns: its result, whether to publish the changed database,
 * and work to do after publishing while still holding the lock (e.g. moving a removed
 * snapshot's files away, so no other process can see the record gone but the files there).
 */
export interface Change<T> {
  result: T;
  write: boolean;
  after?: () => Promise<void>;
}

export class Metadata {
  readonly file: string;
  private readonly staleMs: number;
  /** Serialises this process's own transactions: proper-lockfile is not re-entrant. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly dir: string,
    readonly driver: string,
    options: MetadataOptions = {},
  ) {
    this.file = join(dir, 'metadata');
    this.staleMs = Math.max(2000, options.staleMs ?? 5000);
  }

  /** The current database, without locking; a missing file is an empty database. */
  async read(): Promise<Db> {
    let fh;
    try {
      fh = await open(this.file, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyDb(this.driver);
      throw wrapSystemError(err, `reading ${this.file}`, { path: this.file });
    }
    try {
      const { size } = await fh.stat();
      if (size > MAX_DB_BYTES) {
        throw dataLoss('ERR_SNAPSHOT_METADATA', `snapshot metadata ${this.file} is ${size} bytes, more than the ${MAX_DB_BYTES} allowed: not reading it`, { path: this.file, actual: size });
      }
      return decodeDb(await fh.readFile(), this.driver, this.file);
    } finally {
      await fh.close();
    }
  }

  /**
   * Runs `change` on the latest database under the lock and publishes the result if it
   * returns `{ write: true }`. `change` may do short file-system work (a rename into place)
   * that must happen under the lock with the record change; it must not take long.
   */
  transact<T>(change: (db: Db) => Promise<Change<T>>): Promise<T> {
    const run = this.queue.then(() => this.locked(change));
    this.queue = run.catch(() => {});
    return run;
  }

  private async locked<T>(change: (db: Db) => Promise<Change<T>>): Promise<T> {
    let compromised: Error | undefined;
    let release: () => Promise<void>;
    try {
      await mkdir(this.dir, { recursive: true });
      release = await lockfile.lock(this.file, {
        realpath: false,
        lockfilePath: `${this.file}.lock`,
        stale: this.staleMs,
        update: Math.floor(this.staleMs / 2),
        retries: { retries: 1000, factor: 1.2, minTimeout: 2, maxTimeout: 100, randomize: true },
        // Never throw from a timer: the next step of the transaction checks this instead.
        onCompromised: (err) => (compromised = err),
      });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw wrapSystemError(err, `locking ${this.file}`, { path: this.file });
      throw unavailable('ERR_SNAPSHOT_LOCKED', `cannot lock snapshot metadata ${this.file}: ${(err as Error).message}`, { path: `${this.file}.lock` });
    }
    try {
      const db = await this.read();
      const { result, write, after } = await change(db);
      if (write) await this.publish(db, () => compromised);
      if (after) await after();
      return result;
    } finally {
      await release().catch(() => {});
    }
  }

  private async publish(db: Db, compromised: () => Error | undefined): Promise<void> {
    // In scratch space: a temp file left by a killed writer is swept like any other scratch.
    const tmp = await scratchName(this.dir, 'db');
    try {
      const fh = await open(tmp, 'wx', 0o644);
      try {
        await fh.writeFile(encodeDb(db));
        await fh.sync();
      } finally {
        await fh.close();
      }
      crashpoint('snapshot-metadata-before-rename');
      const lost = compromised();
      if (lost) {
        throw lockCompromised('ERR_SNAPSHOT_LOCK_COMPROMISED', `snapshot metadata lock ${this.file}.lock was taken over (${lost.message}); change not applied`, {
          path: `${this.file}.lock`,
        });
      }
      await rename(tmp, this.file);
      await syncDir(this.dir);
    } catch (err) {
      await rm(tmp, { force: true });
      throw wrapSystemError(err, `writing ${this.file}`, { path: this.file });
    }
  }
}
