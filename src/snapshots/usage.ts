/**
 * Disk usage of a directory tree, like `du`: allocated blocks (st_blocks × 512) of every
 * inode under it, each hard-linked inode counted once, plus the inode count. Directories are
 * read one at a time, so memory is bounded by the widest directory and the set of inodes
 * with more than one link.
 */
import { lstat, opendir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Usage } from './types.js';

export async function diskUsage(root: string): Promise<Usage> {
  const linked = new Set<string>();
  let size = 0;
  let inodes = 0;
  const visit = async (p: string): Promise<void> => {
    const st = await lstat(p, { bigint: true });
    if (st.nlink > 1n && !st.isDirectory()) {
      const id = `${st.dev}:${st.ino}`;
      if (linked.has(id)) return;
      linked.add(id);
    }
    inodes++;
    size += Number(st.blocks) * 512;
    if (!st.isDirectory()) return;
    const dir = await opendir(p);
    for await (const e of dir) await visit(join(p, e.name));
  };
  await visit(root);
  return { size, inodes };
}
