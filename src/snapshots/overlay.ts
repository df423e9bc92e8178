/**
 * The overlay driver: a snapshot holds only its own changes (`fs`, the overlay upper
 * directory, plus overlay's `work`); its content is the overlay of its ancestors' `fs`
 * directories. Prepare and commit copy nothing. Needs root and a kernel with overlayfs
 * (probed by openSnapshotter). Whiteouts live in `fs` in overlayfs's own format (0:0
 * character devices, opaque xattrs), written by the kernel when an applier deletes through
 * the mount.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Driver } from './snapshotter.js';
import type { Kind, Mount } from './types.js';

export const overlayDriver: Driver = {
  name: 'overlay',
  selfContained: false,
  async populate(dir: string): Promise<void> {
    await mkdir(dir);
    await mkdir(join(dir, 'fs'), { mode: 0o755 });
    await mkdir(join(dir, 'work'), { mode: 0o700 });
  },
  mounts(dir: string, kind: Kind, parents: readonly string[]): Mount[] {
    const lower = parents.map((p) => join(p, 'fs'));
    if (kind === 'view') {
      // A view shows its parent read-only; overlayfs needs two lowers for an upper-less mount.
      if (lower.length === 0) return [{ type: 'bind', source: join(dir, 'fs'), options: ['rbind', 'ro'] }];
      if (lower.length === 1) return [{ type: 'bind', source: lower[0]!, options: ['rbind', 'ro'] }];
      return [{ type: 'overlay', source: 'overlay', options: [`lowerdir=${lower.join(':')}`] }];
    }
    if (lower.length === 0) return [{ type: 'bind', source: join(dir, 'fs'), options: ['rbind', 'rw'] }];
    return [{ type: 'overlay', source: 'overlay', options: [`workdir=${join(dir, 'work')}`, `upperdir=${join(dir, 'fs')}`, `lowerdir=${lower.join(':')}`] }];
  },
};
