/**
 * The naive driver: every snapshot is a complete directory tree. Prepare copies the parent
 * (`cp -a`: hard links, modes, owners when permitted, times, symlinks, device nodes), so it
 * costs a full copy per snapshot but needs no privilege and no kernel feature. Mounts are
 * bind mounts of the snapshot's own tree, which appliers use in place without mounting.
 */
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { wrapSystemError } from '../errors.js';
import type { Driver } from './snapshotter.js';
import type { Kind, Mount } from './types.js';

const exec = promisify(execFile);

/** Copies the tree `from` to `to` (which must not exist), preserving everything cp -a does. */
export async function copyTree(from: string, to: string): Promise<void> {
  try {
    await exec('cp', ['-a', '--', from, to], { maxBuffer: 1 << 20 });
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw wrapSystemError(new Error((e.stderr ?? e.message).trim().split('\n')[0]), `copying ${from} to ${to}`, { path: from });
  }
}

export const naiveDriver: Driver = {
  name: 'naive',
  selfContained: true,
  async populate(dir: string, _kind: Kind, parents: readonly string[]): Promise<void> {
    await mkdir(dir);
    if (parents.length) await copyTree(join(parents[0]!, 'fs'), join(dir, 'fs'));
    else await mkdir(join(dir, 'fs'), { mode: 0o755 });
  },
  mounts(dir: string, kind: Kind): Mount[] {
    return [{ type: 'bind', source: join(dir, 'fs'), options: ['rbind', kind === 'view' ? 'ro' : 'rw'] }];
  },
};
