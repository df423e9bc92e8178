/**
 * The directory a layer is applied to, seen through a resolver that never leaves it.
 *
 * Every write goes to `parent/base`, where `parent` is found component by component with
 * lstat: a missing directory is created (0755); a symlink that this layer planted is
 * refused (the classic "symlink, then write through it" escape); a symlink from a lower
 * layer is followed *inside the root* (absolute targets and `..` are taken relative to the
 * root and cannot climb above it, as umoci and containerd do), so layers that write through
 * e.g. `/lib -> usr/lib` still work. The final component is never followed: anything there
 * is removed and the new entry created with O_EXCL.
 */
import { lstat, mkdir, readlink, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { dataLoss } from '../errors.js';
import { unsafe } from './names.js';

const MAX_HOPS = 40;

export class Tree {
  /** Root-relative paths (resolved, `/`-joined) this layer created. */
  readonly created = new Set<string>();
  /** Resolved directories known to be real directories in this apply. */
  private readonly dirs = new Set<string>(['']);

  constructor(readonly root: string) {}

  abs(rel: string): string {
    return rel === '' ? this.root : join(this.root, rel);
  }

  /**
   * Resolves the directory components `parts` (as named in the archive by `name`) to a
   * root-relative real directory, creating missing ones.
   */
  async resolveDir(parts: readonly string[], name: string): Promise<string> {
    let cur: string[] = [];
    const queue = [...parts];
    let hops = 0;
    while (queue.length) {
      const c = queue.shift()!;
      if (c === '..') {
        cur.pop(); // only from a lower layer's symlink target: clamped at the root
        continue;
      }
      const next = [...cur, c].join('/');
      if (this.dirs.has(next)) {
        cur.push(c);
        continue;
      }
      const p = this.abs(next);
      let st;
      try {
        st = await lstat(p);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        await mkdir(p, { mode: 0o755 });
        this.created.add(next);
        this.dirs.add(next);
        cur.push(c);
        continue;
      }
      if (st.isDirectory()) {
        this.dirs.add(next);
        cur.push(c);
        continue;
      }
      if (!st.isSymbolicLink()) {
        throw dataLoss('ERR_BAD_ARCHIVE', `layer entry ${JSON.stringify(name)} needs ${JSON.stringify(next)} to be a directory, but it is a file`, { path: name });
      }
      if (this.created.has(next)) throw unsafe(name, `it would be written through the symlink ${JSON.stringify(next)} planted by this layer`);
      if (++hops > MAX_HOPS) throw dataLoss('ERR_BAD_ARCHIVE', `layer entry ${JSON.stringify(name)}: too many levels of symbolic links`, { path: name });
      const target = await readlink(p);
      if (target.startsWith('/')) cur = [];
      queue.unshift(...target.split('/').filter((x) => x !== '' && x !== '.'));
    }
    return cur.join('/');
  }

  /**
   * Clears the way for a new entry at `rel`: removes whatever is there (recursively for a
   * directory, unless `keepDir` and it is one). Returns true when a directory was kept.
   */
  async clear(rel: string, keepDir: boolean): Promise<boolean> {
    const p = this.abs(rel);
    let st;
    try {
      st = await lstat(p);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
    if (st.isDirectory()) {
      if (keepDir) return true;
      await rm(p, { recursive: true, force: true });
      this.forget(rel);
    } else await rm(p, { force: true });
    return false;
  }

  /** Removes `rel` (a whiteout) and forgets what was known below it. */
  async remove(rel: string): Promise<void> {
    await rm(this.abs(rel), { recursive: true, force: true });
    this.forget(rel);
  }

  /** Drops cached knowledge of `rel` and everything under it (it was removed or replaced). */
  forget(rel: string): void {
    // Every cached directory's ancestors are cached too: nothing below an uncached path is.
    if (!this.dirs.has(rel)) return;
    const prefix = `${rel}/`;
    for (const d of this.dirs) if (d === rel || d.startsWith(prefix)) this.dirs.delete(d);
  }

  markDir(rel: string): void {
    this.dirs.add(rel);
  }

  /** True when every component of `rel` is a real directory (no symlink anywhere on the way). */
  async isRealDir(rel: string): Promise<boolean> {
    let cur = '';
    for (const c of rel === '' ? [] : rel.split('/')) {
      cur = cur === '' ? c : `${cur}/${c}`;
      try {
        if (!(await lstat(this.abs(cur))).isDirectory()) return false;
      } catch {
        return false;
      }
    }
    return true;
  }
}
