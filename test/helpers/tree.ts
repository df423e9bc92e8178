/**
 * Snapshot of everything under a store root: path, type, size, mode and a hash of each
 * file's content. Two equal snapshots mean the store was not changed.
 */
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join, relative } from 'node:path';

export type TreeSnapshot = Record<string, string>;

export async function snapshotTree(root: string): Promise<TreeSnapshot> {
  const out: TreeSnapshot = {};
  async function visit(dir: string): Promise<void> {
    let entries: string[];
    try {
      entries = await readdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const name of entries.sort()) {
      const p = join(dir, name);
      const rel = relative(root, p);
      const st = await lstat(p);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isDirectory()) {
        out[rel] = `dir ${mode}`;
        await visit(p);
      } else if (st.isSymbolicLink()) {
        out[rel] = `link -> ${await readlink(p)}`;
      } else {
        const hash = createHash('sha256').update(await readFile(p)).digest('hex').slice(0, 16);
        out[rel] = `file ${mode} ${st.size} ${hash}`;
      }
    }
  }
  await visit(root);
  return out;
}

/** Files (not directories) under root/sub, relative to root/sub. */
export async function listFiles(root: string, sub = ''): Promise<string[]> {
  const snap = await snapshotTree(join(root, sub));
  return Object.entries(snap)
    .filter(([, v]) => !v.startsWith('dir'))
    .map(([k]) => k);
}
