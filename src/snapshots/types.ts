/**
 * The snapshotter contract (containerd's model). Implementations: `naive` (naive.ts) and
 * `overlay` (overlay.ts), both over one metadata store (metadata.ts). Every implementation
 * must pass the conformance suite in test/snapshots/suite/.
 *
 * Lifecycle:
 *   prepare(key, parent?)  → an Active snapshot: writable, its content starts as the parent's
 *   view(key, parent?)     → a View: read-only, can never be committed
 *   commit(name, key)      → the Active snapshot `key` becomes the Committed snapshot `name`
 *                            (same content, `key` is gone)
 *   remove(key)            → any snapshot without children
 * Only Committed snapshots can be parents. Keys and names share one namespace per driver and
 * are unique in it. Every process sharing the store root sees the same snapshots; a process
 * killed mid-operation leaves nothing that makes the next operation fail.
 */

export type Kind = 'active' | 'view' | 'committed';

export interface Info {
  /** The key of an Active/View snapshot, the name of a Committed one. */
  name: string;
  kind: Kind;
  /** Name of the Committed parent, if any. */
  parent?: string;
  labels: Record<string, string>;
  createdAt: Date;
  updatedAt: Date;
}

export interface Usage {
  /** Bytes on disk (allocated blocks; a hard-linked inode counts once). */
  size: number;
  /** Inodes (files, directories, links, …) the snapshot holds itself. */
  inodes: number;
}

/**
 * One mount in mount(8) terms. `bind` mounts of a plain directory may be used directly as a
 * path (appliers do, so the naive driver needs no privilege); `overlay` needs root.
 */
export interface Mount {
  type: 'bind' | 'overlay';
  source: string;
  options: string[];
}

export interface SnapshotOptions {
  labels?: Record<string, string>;
}

/**
 * Filters, containerd's syntax: `field==value`, `field!=value`, `field~=regexp`, joined by `,`
 * (all must hold); several filters: any must hold. Fields: name, kind, parent,
 * labels.KEY (or labels."KEY" for keys with dots).
 */
export type WalkFilters = string[];

export interface Snapshotter {
  readonly driver: string;
  /** NotFound if `key` does not exist. */
  stat(key: string): Promise<Info>;
  /**
   * Replaces the labels of `info.name` (fieldpaths omitted or `labels`), or only the listed
   * `labels.KEY` (an absent value deletes the key). Other fields are immutable:
   * InvalidArgument.
   */
  update(info: Pick<Info, 'name' | 'labels'>, ...fieldpaths: string[]): Promise<Info>;
  /** Disk use of a snapshot's own layer (Active: measured now; Committed: at commit). */
  usage(key: string): Promise<Usage>;
  /** Mounts that present an Active snapshot (writable) or a View (read-only). */
  mounts(key: string): Promise<Mount[]>;
  /** AlreadyExists if `key` is taken; NotFound/FailedPrecondition if `parent` is not Committed. */
  prepare(key: string, parent?: string, options?: SnapshotOptions): Promise<Mount[]>;
  view(key: string, parent?: string, options?: SnapshotOptions): Promise<Mount[]>;
  /**
   * Active `key` → Committed `name`. A View: FailedPrecondition; `name` taken: AlreadyExists
   * (and `key` stays Active).
   */
  commit(name: string, key: string, options?: SnapshotOptions): Promise<void>;
  /** FailedPrecondition if other snapshots name `key` as parent. */
  remove(key: string): Promise<void>;
  /** Every snapshot matching any of the filters (all when none), in name order. */
  walk(fn: (info: Info) => void | Promise<void>, ...filters: WalkFilters): Promise<void>;
  close(): Promise<void>;
}
