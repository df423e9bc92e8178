/**
 * A comparable description of a root file system: for every path, its type, permission
 * bits, size (files), link target (symlinks) and a hash of its content (files). What the
 * peer test compares between `dist bundle` and `umoci unpack`.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';

async function hashFile(p: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(p)) h.update(c as Buffer);
  return h.digest('hex').slice(0, 16);
}

export async function describeTree(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const visit = async (rel: string): Promise<void> => {
    for (const name of (await readdir(join(root, rel))).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const p = join(root, r);
      const st = await lstat(p);
      const mode = (st.mode & 0o7777).toString(8).padStart(4, '0');
      if (st.isDirectory()) {
        out[r] = `dir ${mode}`;
        await visit(r);
      } else if (st.isSymbolicLink()) out[r] = `symlink -> ${await readlink(p)}`;
      else if (st.isFile()) out[r] = `file ${mode} ${st.size} ${await hashFile(p)}`;
      else out[r] = `${st.isCharacterDevice() ? 'char' : st.isBlockDevice() ? 'block' : st.isFIFO() ? 'fifo' : 'other'} ${mode} ${st.rdev}`;
    }
  };
  await visit('');
  return out;
}
