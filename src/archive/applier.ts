/**
 * One layer's entries written into a directory: the part of layer apply that touches the
 * disk (apply.ts streams and checks; this writes). Whiteouts apply to lower layers only, so
 * the paths this layer created are remembered (tree.ts); directories get their mode and
 * mtime last (a child written later would change the mtime; a read-only directory would
 * refuse the child).
 */
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { chown, link, lstat, lchown, lutimes, mkdir, open, opendir, symlink } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { Header } from 'tar-stream';
import { dataLoss, wrapSystemError } from '../errors.js';
import type { ApplyOptions } from './apply.js';
import { OPAQUE, splitName, unsafe, WHITEOUT_META, WHITEOUT_PREFIX } from './names.js';
import { Tree } from './tree.js';

const exec = promisify(execFile);
const WRITE_BATCH = 1 << 20;
/**
 * Files up to this size are read into memory and written in the background, several at
 * once (at most MAX_INFLIGHT of them, MAX_INFLIGHT_BYTES in total), while the parser moves
 * on: one file's open/write/chmod/utimes/close round trips to libuv's thread pool no longer
 * wait for the previous file's. Larger files stream to disk in the foreground.
 */
const SMALL_FILE = 1 << 20;
const MAX_INFLIGHT = 16;
const MAX_INFLIGHT_BYTES = 16 << 20;

interface DirAttrs {
  mode: number;
  mtime: Date;
}

export type Source = AsyncIterable<Uint8Array> & { resume(): void };

export async function drain(entry: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of entry) void _;
}

export class Applier {
  readonly tree: Tree;
  readonly warnings: string[] = [];
  private readonly warned = new Set<string>();
  /** Directories' mode and mtime, applied last, children before parents. */
  private readonly dirAttrs = new Map<string, DirAttrs>();
  entries = 0;
  /** Background writes by path; an entry touching a path first waits for its write. */
  private readonly inflight = new Map<string, Promise<void>>();
  private inflightBytes = 0;
  private failed: unknown;

  constructor(
    root: string,
    private readonly o: ApplyOptions & { privileged: boolean },
  ) {
    this.tree = new Tree(root);
  }

  warn(kind: string, message: string): void {
    if (this.warned.has(kind)) return;
    this.warned.add(kind);
    this.warnings.push(message);
    this.o.onWarning?.(message);
  }

  async entry(h: Header, data: Source): Promise<void> {
    this.entries++;
    const parts = splitName(h.name);
    if ((h.pax as Record<string, string> | null | undefined) && Object.keys(h.pax as object).some((k) => k.startsWith('SCHILY.xattr.'))) {
      this.warn('xattr', 'extended attributes in the layer are not applied (Node.js has no xattr API)');
    }
    // AUFS metadata (`.wh..wh.plnk/…` and the like) is not content.
    if (parts.length > 0 && parts[0]!.startsWith(WHITEOUT_META)) return drain(data);
    if (parts.length === 0) {
      // The root itself: only a directory's attributes can apply.
      if (h.type === 'directory') this.dirAttrs.set('', { mode: h.mode, mtime: h.mtime });
      return drain(data);
    }
    const base = parts[parts.length - 1]!;
    if (base.startsWith(WHITEOUT_PREFIX)) {
      await drain(data);
      await this.settle(); // a whiteout may remove anything, in flight or not
      return this.whiteout(parts, h.name);
    }
    const parent = await this.tree.resolveDir(parts.slice(0, -1), h.name);
    const rel = parent === '' ? base : `${parent}/${base}`;
    await (h.type === 'link' ? this.settle() : this.settle(rel));
    switch (h.type) {
      case 'directory':
        return this.directory(rel, h, data);
      case 'file':
      case 'contiguous-file':
        await this.tree.clear(rel, false);
        if (h.size <= SMALL_FILE) {
          const chunks: Uint8Array[] = [];
          for await (const c of data) chunks.push(c);
          await this.room(h.size);
          this.background(rel, h.size, this.file(rel, h, chunks));
        } else await this.file(rel, h, data);
        break;
      case 'symlink':
        await drain(data);
        await this.tree.clear(rel, false);
        await symlink(h.linkname, this.tree.abs(rel));
        if (this.o.privileged) await lchown(this.tree.abs(rel), h.uid, h.gid);
        await lutimes(this.tree.abs(rel), h.mtime, h.mtime);
        break;
      case 'link':
        await drain(data);
        await this.hardlink(rel, h);
        break;
      case 'character-device':
      case 'block-device':
      case 'fifo':
        await drain(data);
        await this.special(rel, h);
        break;
      default:
        await drain(data);
        this.warn(`type-${h.type}`, `layer entries of type ${h.type} are skipped (first: ${JSON.stringify(h.name)})`);
        return;
    }
    this.tree.created.add(rel);
  }

  private async directory(rel: string, h: Header, data: Source): Promise<void> {
    await drain(data);
    const kept = await this.tree.clear(rel, true);
    if (!kept) await mkdir(this.tree.abs(rel), { mode: 0o700 });
    this.tree.markDir(rel);
    this.tree.created.add(rel);
    if (this.o.privileged) await chown(this.tree.abs(rel), h.uid, h.gid);
    this.dirAttrs.set(rel, { mode: h.mode, mtime: h.mtime });
  }

  /**
   * Waits for background writes — all of them, or those at or below `rel` (an entry there
   * may replace a directory holding files still being written) — and rethrows the first
   * that failed.
   */
  async settle(rel?: string): Promise<void> {
    const below = `${rel}/`;
    if (rel === undefined || [...this.inflight.keys()].some((k) => k === rel || k.startsWith(below))) await Promise.all(this.inflight.values());
    if (this.failed !== undefined) throw this.failed;
  }

  private async room(bytes: number): Promise<void> {
    while (this.inflight.size > 0 && (this.inflight.size >= MAX_INFLIGHT || this.inflightBytes + bytes > MAX_INFLIGHT_BYTES)) {
      await Promise.race(this.inflight.values());
    }
    if (this.failed !== undefined) throw this.failed;
  }

  private background(rel: string, bytes: number, write: Promise<void>): void {
    this.inflightBytes += bytes;
    const task = write
      .catch((err: unknown) => void (this.failed ??= err))
      .finally(() => {
        this.inflight.delete(rel);
        this.inflightBytes -= bytes;
      });
    this.inflight.set(rel, task);
  }

  private async file(rel: string, h: Header, data: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<void> {
    // O_EXCL: never follows or reuses whatever might be at the name.
    const fh = await open(this.tree.abs(rel), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      let batch: Uint8Array[] = [];
      let bytes = 0;
      for await (const chunk of data) {
        batch.push(chunk);
        bytes += chunk.length;
        if (bytes >= WRITE_BATCH) {
          await fh.writev(batch);
          batch = [];
          bytes = 0;
        }
      }
      if (batch.length) await fh.writev(batch);
      // chown before chmod: chown clears setuid/setgid bits.
      if (this.o.privileged) await fh.chown(h.uid, h.gid);
      await fh.chmod(h.mode & 0o7777);
      await fh.utimes(h.mtime, h.mtime);
    } finally {
      await fh.close();
    }
  }

  private async hardlink(rel: string, h: Header): Promise<void> {
    const parts = splitName(h.linkname, 'hard link target');
    if (parts.length === 0) throw unsafe(h.name, 'hard link to the root');
    const tparent = await this.tree.resolveDir(parts.slice(0, -1), h.name);
    const target = tparent === '' ? parts.at(-1)! : `${tparent}/${parts.at(-1)!}`;
    if (target === rel) return;
    let st;
    try {
      st = await lstat(this.tree.abs(target));
    } catch {
      throw dataLoss('ERR_BAD_ARCHIVE', `layer entry ${JSON.stringify(h.name)} is a hard link to ${JSON.stringify(h.linkname)}, which does not exist`, { path: h.name });
    }
    if (st.isDirectory()) throw unsafe(h.name, `hard link to the directory ${JSON.stringify(h.linkname)}`);
    await this.tree.clear(rel, false);
    // link(2) does not follow a symlink at `target`: the link is to the symlink itself.
    await link(this.tree.abs(target), this.tree.abs(rel));
  }

  private async special(rel: string, h: Header): Promise<void> {
    if (h.type !== 'fifo' && !this.o.privileged) {
      this.warn('device', `device nodes are skipped when not running as root (first: ${JSON.stringify(h.name)})`);
      return;
    }
    await this.tree.clear(rel, false);
    const p = this.tree.abs(rel);
    const args = h.type === 'fifo' ? [p, 'p'] : [p, h.type === 'character-device' ? 'c' : 'b', String(h.devmajor), String(h.devminor)];
    try {
      await exec('mknod', ['-m', (h.mode & 0o7777).toString(8), '--', ...args]);
    } catch (err) {
      throw wrapSystemError(new Error((err as { stderr?: string }).stderr?.trim() || (err as Error).message), `creating ${h.type} ${JSON.stringify(h.name)}`, { path: h.name });
    }
    if (this.o.privileged) await lchown(p, h.uid, h.gid);
    await lutimes(p, h.mtime, h.mtime);
  }

  /** `.wh.NAME` removes NAME; `.wh..wh..opq` empties its directory; both only of lower layers. */
  private async whiteout(parts: string[], name: string): Promise<void> {
    const base = parts[parts.length - 1]!;
    const parent = await this.tree.resolveDir(parts.slice(0, -1), name);
    if (base === OPAQUE) return this.opaque(parent);
    if (base.startsWith(WHITEOUT_META)) return;
    const victim = base.slice(WHITEOUT_PREFIX.length);
    if (victim === '' || victim === '.' || victim === '..') throw unsafe(name, 'whiteout of an invalid name');
    const rel = parent === '' ? victim : `${parent}/${victim}`;
    if (!this.tree.created.has(rel)) await this.tree.remove(rel);
  }

  /**
   * Empties `dir` of lower-layer content, recursively: what this layer created stays, and so
   * do directories on the way to something it created (their other content goes).
   */
  private async opaque(dir: string): Promise<void> {
    const prefix = dir === '' ? '' : `${dir}/`;
    const onPath = new Set<string>();
    for (const c of this.tree.created) {
      if (!c.startsWith(prefix)) continue;
      for (let i = c.indexOf('/', prefix.length); i !== -1; i = c.indexOf('/', i + 1)) onPath.add(c.slice(0, i));
    }
    const visit = async (d: string): Promise<void> => {
      const names: string[] = [];
      for await (const e of await opendir(this.tree.abs(d))) names.push(e.name);
      for (const name of names) {
        const rel = d === '' ? name : `${d}/${name}`;
        const st = await lstat(this.tree.abs(rel));
        if (st.isDirectory() && (onPath.has(rel) || this.tree.created.has(rel))) await visit(rel);
        else if (!this.tree.created.has(rel)) await this.tree.remove(rel);
      }
    };
    await visit(dir);
  }

  /** Directory modes and mtimes, deepest first; a directory replaced meanwhile is skipped. */
  async finish(): Promise<void> {
    await this.settle();
    const dirs = [...this.dirAttrs.entries()].sort((a, b) => b[0].split('/').length - a[0].split('/').length);
    for (const [rel, a] of dirs) {
      // A later entry may have replaced a directory on the way with a symlink: never follow it.
      if (!(await this.tree.isRealDir(rel))) continue;
      let fh;
      try {
        fh = await open(this.tree.abs(rel), constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
      } catch {
        continue; // replaced by a non-directory or removed by a later entry
      }
      try {
        await fh.chmod(a.mode & 0o7777);
        await fh.utimes(a.mtime, a.mtime);
      } finally {
        await fh.close();
      }
    }
  }
}
