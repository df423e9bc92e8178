/**
 * The snapshotter over a store root, shared by the drivers: records in the metadata database
 * (metadata.ts), file systems in `<root>/snapshots/<driver>/snapshots/<id>/`. A driver only
 * says how a new snapshot's directory is filled and how a snapshot is mounted.
 *
 * Crash tolerance: a new snapshot is built in scratch space (scratch.ts) and renamed to its
 * id under the metadata lock in the same transaction that adds its record; a removed one's
 * record goes first, then its directory is moved to scratch (still under the lock) and
 * deleted after. A process killed anywhere leaves either no record (its scratch is swept
 * later) or a whole snapshot — never a record that makes the next prepare of that key fail.
 * Directories without a record (a kill between rename and publish) are moved away under
 * the lock by the next remove or by the create that needs their id.
 */
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { alreadyExists, failedPrecondition, invalidArgument, notFound, wrapSystemError } from '../errors.js';
import { crashpoint } from '../testing/crashpoint.js';
import { parseFilters } from './filters.js';
import { checkLabels, checkName } from './validate.js';
import { Metadata, type MetadataOptions } from './metadata.js';
import type { Db, SnapshotRecord } from './record.js';
import { makeScratch, scratchName, sweepScratch } from './scratch.js';
import type { Info, Kind, Mount, SnapshotOptions, Snapshotter, Usage } from './types.js';
import { diskUsage } from './usage.js';

/** What differs between drivers. `dir` is a snapshot's directory; parents nearest first. */
export interface Driver {
  readonly name: string;
  /** True when a Committed snapshot's `fs` holds its whole content (naive), not a diff. */
  readonly selfContained: boolean;
  /** Fills the new snapshot directory `dir` (which does not exist yet). */
  populate(dir: string, kind: Kind, parents: readonly string[]): Promise<void>;
  mounts(dir: string, kind: Kind, parents: readonly string[]): Mount[];
}

function toInfo(name: string, r: SnapshotRecord): Info {
  return { name, kind: r.kind, ...(r.parent !== undefined ? { parent: r.parent } : {}), labels: { ...r.labels }, createdAt: new Date(r.created), updatedAt: new Date(r.updated) };
}

export class StoreSnapshotter implements Snapshotter {
  readonly driver: string;
  /** `<root>/snapshots/<driver>` */
  readonly dir: string;
  private readonly md: Metadata;
  /** Set when a leftover was moved to scratch under the lock: swept after the transaction. */
  private leftovers = false;

  constructor(
    readonly root: string,
    private readonly impl: Driver,
    options: MetadataOptions = {},
  ) {
    this.driver = impl.name;
    this.dir = join(root, 'snapshots', impl.name);
    this.md = new Metadata(this.dir, impl.name, options);
  }

  /** Directory of snapshot `id`. */
  storage(id: number): string {
    return join(this.dir, 'snapshots', String(id));
  }

  private get(db: Db, key: string): SnapshotRecord {
    const r = db.snapshots[checkName(key)];
    if (!r) throw notFound('ERR_SNAPSHOT_NOT_FOUND', `snapshot ${JSON.stringify(key)} not found (${this.driver})`, { key });
    return r;
  }

  /** Directories of `parent` and its ancestors, nearest first; the parent must be Committed. */
  private chain(db: Db, parent: string | undefined): string[] {
    const dirs: string[] = [];
    for (let p = parent; p !== undefined; ) {
      const r = db.snapshots[p];
      if (!r) throw notFound('ERR_SNAPSHOT_NOT_FOUND', `parent snapshot ${JSON.stringify(p)} not found (${this.driver})`, { key: p });
      if (r.kind !== 'committed') {
        throw failedPrecondition('ERR_SNAPSHOT_PARENT_NOT_COMMITTED', `parent ${JSON.stringify(p)} is ${r.kind}, only committed snapshots can be parents`, { key: p, actual: r.kind });
      }
      dirs.push(this.storage(r.id));
      p = r.parent;
    }
    return dirs;
  }

  async stat(key: string): Promise<Info> {
    return toInfo(key, this.get(await this.md.read(), key));
  }

  async update(info: Pick<Info, 'name' | 'labels'>, ...fieldpaths: string[]): Promise<Info> {
    const name = checkName(info?.name);
    const labels = checkLabels(info.labels);
    for (const f of fieldpaths) {
      if (f !== 'labels' && !f.startsWith('labels.')) {
        throw invalidArgument('ERR_SNAPSHOT_IMMUTABLE_FIELD', `cannot update field ${JSON.stringify(f)} of snapshot ${JSON.stringify(name)}: only labels are mutable`, { key: name, actual: f });
      }
    }
    return this.md.transact(async (db) => {
      const r = this.get(db, name);
      if (fieldpaths.length === 0 || fieldpaths.includes('labels')) r.labels = labels;
      else {
        for (const f of fieldpaths) {
          const k = f.slice('labels.'.length);
          if (labels[k] === undefined) delete r.labels[k];
          else r.labels[k] = labels[k];
        }
      }
      checkLabels(r.labels);
      r.updated = Date.now();
      return { result: toInfo(name, r), write: true };
    });
  }

  /**
   * The directory holding the whole content of Committed `name`, for drivers whose snapshots
   * are self-contained (naive); undefined otherwise. Read-only by contract.
   */
  async contentDir(name: string): Promise<string | undefined> {
    const r = this.get(await this.md.read(), name);
    if (r.kind !== 'committed') throw failedPrecondition('ERR_SNAPSHOT_NOT_COMMITTED', `snapshot ${JSON.stringify(name)} is ${r.kind}, not committed`, { key: name });
    return this.impl.selfContained ? join(this.storage(r.id), 'fs') : undefined;
  }

  async usage(key: string): Promise<Usage> {
    const r = this.get(await this.md.read(), key);
    if (r.kind === 'committed' && r.usage) return r.usage;
    try {
      return await diskUsage(join(this.storage(r.id), 'fs'));
    } catch (err) {
      throw wrapSystemError(err, `measuring snapshot ${JSON.stringify(key)}`, { key });
    }
  }

  async mounts(key: string): Promise<Mount[]> {
    const db = await this.md.read();
    const r = this.get(db, key);
    if (r.kind === 'committed') {
      throw failedPrecondition('ERR_SNAPSHOT_COMMITTED', `snapshot ${JSON.stringify(key)} is committed: it has no mounts (make a view of it)`, { key });
    }
    return this.impl.mounts(this.storage(r.id), r.kind, this.chain(db, r.parent));
  }

  prepare(key: string, parent?: string, options?: SnapshotOptions): Promise<Mount[]> {
    return this.create('active', key, parent, options);
  }

  view(key: string, parent?: string, options?: SnapshotOptions): Promise<Mount[]> {
    return this.create('view', key, parent, options);
  }

  private async create(kind: Kind, key: string, parent: string | undefined, options?: SnapshotOptions): Promise<Mount[]> {
    checkName(key);
    if (parent !== undefined) checkName(parent, 'parent snapshot');
    const labels = checkLabels(options?.labels);
    await sweepScratch(this.dir);
    // Fail fast, before any copying; the same checks are repeated under the lock.
    const before = await this.md.read();
    if (before.snapshots[key]) throw this.exists(key);
    const parents = this.chain(before, parent);
    const stage = await makeScratch(this.dir, 'new');
    const built = join(stage, 'snapshot');
    let dir: string;
    try {
      try {
        await this.impl.populate(built, kind, parents);
      } catch (err) {
        // Copying a parent that another process removed meanwhile fails half-way: say so.
        const now = this.chain(await this.md.read(), parent);
        if (now.join('\0') !== parents.join('\0')) throw this.parentChanged(key, parent);
        throw err;
      }
      crashpoint('snapshot-create-staged');
      dir = await this.md.transact(async (db) => {
        if (db.snapshots[key]) throw this.exists(key);
        const now = this.chain(db, parent);
        if (now.join('\0') !== parents.join('\0')) throw this.parentChanged(key, parent);
        const id = db.nextId++;
        await this.moveIntoPlace(built, this.storage(id));
        const t = Date.now();
        db.snapshots[key] = { id, kind, ...(parent !== undefined ? { parent } : {}), labels, created: t, updated: t };
        return { result: this.storage(id), write: true };
      });
    } finally {
      await rm(stage, { recursive: true, force: true }).catch(() => {});
    }
    if (this.leftovers) {
      this.leftovers = false;
      await sweepScratch(this.dir);
    }
    return this.impl.mounts(dir, kind, parents);
  }

  private parentChanged(key: string, parent: string | undefined) {
    return failedPrecondition('ERR_SNAPSHOT_PARENT_CHANGED', `parent ${JSON.stringify(parent)} was removed or replaced while ${JSON.stringify(key)} was being prepared`, { key });
  }

  private exists(key: string) {
    return alreadyExists('ERR_SNAPSHOT_EXISTS', `snapshot ${JSON.stringify(key)} already exists (${this.driver})`, { key });
  }

  /** rename(2) under the lock; a leftover directory at `target` (a killed create) is moved away first. */
  private async moveIntoPlace(from: string, target: string): Promise<void> {
    await mkdir(join(this.dir, 'snapshots'), { recursive: true });
    try {
      await rename(from, target);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw wrapSystemError(err, `publishing snapshot ${target}`, { path: target });
      await rename(target, await scratchName(this.dir, 'rm'));
      this.leftovers = true;
      await rename(from, target);
    }
  }

  async commit(name: string, key: string, options?: SnapshotOptions): Promise<void> {
    checkName(name, 'snapshot name');
    const labels = options?.labels !== undefined ? checkLabels(options.labels) : undefined;
    const r = this.get(await this.md.read(), key);
    this.checkCommittable(key, r);
    // Measured before taking the lock: the caller has finished writing to `key`.
    const usage = await diskUsage(join(this.storage(r.id), 'fs')).catch((err) => {
      throw wrapSystemError(err, `measuring snapshot ${JSON.stringify(key)}`, { key });
    });
    crashpoint('snapshot-commit-measured');
    await this.md.transact(async (db) => {
      const cur = this.get(db, key);
      this.checkCommittable(key, cur);
      if (cur.id !== r.id) throw failedPrecondition('ERR_SNAPSHOT_PARENT_CHANGED', `snapshot ${JSON.stringify(key)} was replaced during commit`, { key });
      if (db.snapshots[name]) throw alreadyExists('ERR_SNAPSHOT_EXISTS', `cannot commit ${JSON.stringify(key)} as ${JSON.stringify(name)}: ${JSON.stringify(name)} already exists`, { key: name });
      const t = Date.now();
      db.snapshots[name] = { ...cur, kind: 'committed', labels: labels ?? cur.labels, created: t, updated: t, usage };
      delete db.snapshots[key];
      return { result: undefined, write: true };
    });
  }

  private checkCommittable(key: string, r: SnapshotRecord): void {
    if (r.kind !== 'active') {
      throw failedPrecondition('ERR_SNAPSHOT_NOT_ACTIVE', `cannot commit ${JSON.stringify(key)}: it is ${r.kind === 'view' ? 'a view (read-only)' : 'committed already'}`, {
        key,
        actual: r.kind,
      });
    }
  }

  async remove(key: string): Promise<void> {
    await this.md.transact(async (db) => {
      this.get(db, key);
      const children = Object.entries(db.snapshots).filter(([, c]) => c.parent === key).map(([n]) => n).sort();
      if (children.length) {
        throw failedPrecondition('ERR_SNAPSHOT_HAS_CHILDREN', `cannot remove ${JSON.stringify(key)}: ${children.length} snapshot(s) depend on it (${children.slice(0, 3).map((c) => JSON.stringify(c)).join(', ')}${children.length > 3 ? ', …' : ''})`, {
          key,
          actual: children.length,
        });
      }
      delete db.snapshots[key];
      return { result: undefined, write: true, after: () => this.moveOrphans(db) };
    });
    await sweepScratch(this.dir);
  }

  /** Moves every snapshot directory without a record to scratch (under the lock). */
  private async moveOrphans(db: Db): Promise<void> {
    const live = new Set(Object.values(db.snapshots).map((r) => String(r.id)));
    let ids: string[];
    try {
      ids = await readdir(join(this.dir, 'snapshots'));
    } catch {
      return;
    }
    for (const id of ids) {
      if (!live.has(id)) await rename(join(this.dir, 'snapshots', id), await scratchName(this.dir, 'rm')).catch(() => {});
    }
  }

  async walk(fn: (info: Info) => void | Promise<void>, ...filters: string[]): Promise<void> {
    const match = parseFilters(filters);
    const db = await this.md.read();
    for (const name of Object.keys(db.snapshots).sort()) {
      const info = toInfo(name, db.snapshots[name]!);
      if (match(info)) await fn(info);
    }
  }

  /** A fresh directory for a temporary mount (swept, unmounted, if this process dies). */
  mountTarget(): Promise<string> {
    return makeScratch(this.dir, 'mnt');
  }

  async close(): Promise<void> {}
}
