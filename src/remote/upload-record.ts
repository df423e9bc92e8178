/**
 * What a store remembers about one blob on one registry, so that pushes from any process on
 * the root can continue an interrupted upload and mount instead of uploading again:
 *
 *   <root>/uploads/<sha256(host \n digest)>        JSON record, at most MAX_RECORD bytes
 *       { v: 1, host, digest,
 *         session?: { repository, url, offset, updatedAt },   an upload under way
 *         repositories: [...] }                                 where the blob is known to be
 *   <root>/uploads/<same key>.lock                   the ref lock of (host, digest)
 *
 * Guarantees:
 *   - One writer per record: records are written only by the holder of the (host, digest)
 *     lock (the store's own ref lock, src/local/lock.ts), so two processes pushing the same
 *     blob to one registry take turns, and the second finds the first one's work.
 *   - Crash-tolerant: a record is replaced whole (temp file + rename; at most a few per blob,
 *     so the rename's cost does not matter). Not fsynced: a record is a hint, and one lost
 *     to a power failure only costs an upload started over.
 *   - Untrusted on read: never through a symlink (O_NOFOLLOW), regular files only, read with
 *     a size cap, every field checked; a record that fails any check is ignored (and
 *     replaced by the next write), never an error. A stored session URL is used only on the
 *     registry's own origin, so a planted record cannot send a blob's bytes elsewhere.
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { isDigest } from '../digest.js';
import { isKind, wrapSystemError } from '../errors.js';
import { DEFAULT_LOCK_OPTIONS, tryLock, waitLock, type LockOptions, type RefLock } from '../local/lock.js';
import type { IngestPaths } from '../local/paths.js';
import { READ_RECORD } from '../local/safe-fs.js';
import { loadTrust, makeDir, type TrustPolicy } from '../local/trust.js';

export const RECORD_VERSION = 1;
/** Upload URLs are at most a few KiB; a record past this is not ours. */
export const MAX_RECORD = 64 << 10;
/** Repositories remembered per blob (most recent first): mount candidates. */
export const MAX_KNOWN = 8;

export interface UploadSessionRecord {
  repository: string;
  /** Absolute upload URL, as the registry last gave it. */
  url: string;
  /** Bytes the registry acknowledged for this URL. */
  offset: number;
  updatedAt: string;
}

export interface UploadRecord {
  v: typeof RECORD_VERSION;
  host: string;
  digest: string;
  session?: UploadSessionRecord;
  repositories: string[];
}

function validSession(s: unknown): s is UploadSessionRecord {
  const x = s as UploadSessionRecord;
  if (typeof x !== 'object' || x === null) return false;
  if (typeof x.repository !== 'string' || x.repository.length === 0 || x.repository.length > 255) return false;
  if (!Number.isSafeInteger(x.offset) || x.offset < 0 || typeof x.updatedAt !== 'string') return false;
  try {
    const u = new URL(x.url);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

function parseRecord(bytes: Buffer, host: string, digest: string): UploadRecord | undefined {
  let r: UploadRecord;
  try {
    r = JSON.parse(bytes.toString('utf8')) as UploadRecord;
  } catch {
    return undefined;
  }
  if (typeof r !== 'object' || r === null || r.v !== RECORD_VERSION || r.host !== host || r.digest !== digest) return undefined;
  const repositories = Array.isArray(r.repositories)
    ? r.repositories.filter((x): x is string => typeof x === 'string' && x.length > 0 && x.length <= 255).slice(0, MAX_KNOWN)
    : [];
  return { v: RECORD_VERSION, host, digest, repositories, ...(validSession(r.session) ? { session: r.session } : {}) };
}

/** The records of one store root. */
export class UploadRecords {
  readonly dir: string;
  private ready?: Promise<void>;

  constructor(
    readonly root: string,
    private readonly trust: TrustPolicy = loadTrust(root, false),
    private readonly lockOptions: LockOptions = DEFAULT_LOCK_OPTIONS,
  ) {
    this.dir = join(root, 'uploads');
  }

  key(host: string, digest: string): string {
    return createHash('sha256').update(`${host}\n${digest}`, 'utf8').digest('hex');
  }

  /** Creates `uploads/` once, checked like the store's own directories (no symlink, trusted owner). */
  private ensureDir(): Promise<void> {
    this.ready ??= makeDir(this.trust, this.dir).catch((err) => {
      this.ready = undefined;
      throw wrapSystemError(err, `creating ${this.dir}`, { path: this.dir });
    });
    return this.ready;
  }

  async read(host: string, digest: string): Promise<UploadRecord> {
    const empty: UploadRecord = { v: RECORD_VERSION, host, digest, repositories: [] };
    if (!isDigest(digest)) return empty;
    await this.ensureDir();
    let fh;
    try {
      fh = await open(join(this.dir, this.key(host, digest)), READ_RECORD);
    } catch {
      return empty; // missing, a symlink, unreadable: no record
    }
    try {
      if (!(await fh.stat()).isFile()) return empty;
      const buf = Buffer.alloc(MAX_RECORD + 1);
      let n = 0;
      for (let r; n < buf.length && (r = (await fh.read(buf, n, buf.length - n, n)).bytesRead) > 0; ) n += r;
      if (n > MAX_RECORD) return empty;
      return parseRecord(buf.subarray(0, n), host, digest) ?? empty;
    } catch {
      return empty;
    } finally {
      await fh.close();
    }
  }

  /** Replaces the record (call only while holding the lock from `lock`). */
  async write(r: UploadRecord): Promise<void> {
    await this.ensureDir();
    const path = join(this.dir, this.key(r.host, r.digest));
    const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
    try {
      const fh = await open(tmp, flags, this.trust.fileMode);
      try {
        await fh.writeFile(JSON.stringify({ ...r, repositories: r.repositories.slice(0, MAX_KNOWN) }));
      } finally {
        await fh.close();
      }
      await rename(tmp, path);
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw wrapSystemError(err, `writing upload record ${path}`, { path });
    }
  }

  /**
   * Takes the (host, digest) lock: at once when free (or held by a dead process), else
   * calls `onWait` and waits — without bound, like a pull waiting for a layer another
   * process downloads — until it is released or `signal` aborts.
   */
  async lock(host: string, digest: string, o: { signal?: AbortSignal; onWait?: () => void } = {}): Promise<{ lock: RefLock; waited: boolean }> {
    await this.ensureDir();
    const key = this.key(host, digest);
    const lock = `${join(this.dir, key)}.lock`;
    // The ref lock's files, in the shape it expects (src/oci/index-lock.ts does the same).
    const paths: IngestPaths = { key, dir: join(this.dir, `.${key}-unused`), data: '', status: '', lock, owner: `${lock}/owner`, guard: `${lock}.takeover` };
    const ref = `push ${host} ${digest}`;
    const req = { fileMode: this.trust.fileMode, makeDir: (d: string) => makeDir(this.trust, d) };
    try {
      return { lock: await tryLock(ref, paths, this.lockOptions, req), waited: false };
    } catch (err) {
      if (!isKind(err, 'Unavailable')) throw err;
    }
    o.onWait?.();
    return { lock: await waitLock(ref, paths, this.lockOptions, Number.MAX_SAFE_INTEGER, o.signal, req), waited: true };
  }
}

/** Adds `repository` at the front of the known list (at most MAX_KNOWN). */
export function withKnown(r: UploadRecord, repository: string): UploadRecord {
  return { ...r, repositories: [repository, ...r.repositories.filter((x) => x !== repository)].slice(0, MAX_KNOWN) };
}
