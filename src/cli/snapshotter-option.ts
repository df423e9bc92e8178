/**
 * `--snapshotter naive|overlay` shared by unpack, bundle and snapshots: the flag, else
 * $DIST_SNAPSHOTTER, else overlay where overlayfs mounts work for this process (probed),
 * naive elsewhere.
 */
import type { Command } from 'commander';
import type { StoreSnapshotter } from '../snapshots/snapshotter.js';
import { rootOf } from './context.js';

export const SNAPSHOTTER_HELP = 'snapshot driver: naive or overlay (env DIST_SNAPSHOTTER; default overlay where it can mount, else naive)';

/** Loaded on use: the snapshot stack is ~60 ms of imports the other commands should not pay. */
export async function snapshotterOf(cmd: Command): Promise<StoreSnapshotter> {
  const opts = cmd.optsWithGlobals() as { snapshotter?: string };
  const { openSnapshotter } = await import('../snapshots/open.js');
  return openSnapshotter(rootOf(cmd), opts.snapshotter ?? (process.env.DIST_SNAPSHOTTER || undefined));
}
