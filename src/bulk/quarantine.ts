/**
 * Removing a corrupt blob by identity: only the very file that was hashed and found corrupt
 * leaves the store, never a good copy someone stored under the same name meanwhile.
 *
 * The blob is first checked to be unchanged since it was hashed (device, inode, birth time,
 * size and ctime: a file rewritten or chmod'ed in place has a new ctime), then renamed into
 * `<root>/quarantine/` (kept there for inspection; `rm -r <root>/quarantine` reclaims it),
 * and the moved file is checked again — rename is atomic, so what was moved is now ours alone.
 * If it is not the file hashed (replaced between the check and the rename), it is put back
 * with link(), which never overwrites a name stored meanwhile.
 */
import { link, lstat, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { parseDigest } from '../digest.js';
import { makeDir, type TrustPolicy } from '../local/trust.js';
import { randomBytes } from 'node:crypto';
import type { HashedFileId } from './file-hash.js';

export type QuarantineOutcome = { moved: true; path: string } | { moved: false; reason: 'changed' | 'missing' };

const same = (a: HashedFileId, st: { dev: number; ino: number; birthtimeMs: number; size: number }) =>
  a.dev === st.dev && a.ino === st.ino && a.birth === st.birthtimeMs && a.size === st.size;

export function quarantineDir(root: string): string {
  return join(root, 'quarantine');
}

export async function quarantineIfSame(trust: TrustPolicy, blob: string, digest: string, hashed: HashedFileId): Promise<QuarantineOutcome> {
  const before = await lstat(blob).catch(() => undefined);
  if (!before) return { moved: false, reason: 'missing' };
  if (!before.isFile() || !same(hashed, before) || before.ctimeMs !== hashed.ctimeMs) return { moved: false, reason: 'changed' };
  const dir = quarantineDir(trust.root);
  await makeDir(trust, dir);
  const { algorithm, hex } = parseDigest(digest);
  // Named for the blob, unique per move (the same digest may be quarantined twice).
  const dest = join(dir, `${algorithm}-${hex}-${Date.now()}-${randomBytes(4).toString('hex')}`);
  try {
    await rename(blob, dest);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { moved: false, reason: 'missing' };
    throw err;
  }
  const moved = await lstat(dest);
  if (same(hashed, moved)) return { moved: true, path: dest };
  // Not the file we hashed: give it its name back, unless a copy is there again already.
  await link(dest, blob).catch(() => {});
  await unlink(dest).catch(() => {});
  return { moved: false, reason: 'changed' };
}
