/**
 * What the snapshot conformance suite needs from a driver under test: a fresh snapshotter
 * on a fresh root, and a way to reach an Active snapshot's or View's content.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withMounts } from '../../../src/snapshots/mount.js';
import { openSnapshotter } from '../../../src/snapshots/open.js';
import type { StoreSnapshotter } from '../../../src/snapshots/snapshotter.js';

export interface Fixture {
  driver: string;
  root: string;
  sn: StoreSnapshotter;
  /** Runs `fn` with the content of Active/View `key` mounted (or in place for bind mounts). */
  at<T>(key: string, fn: (dir: string) => Promise<T>): Promise<T>;
  cleanup(): Promise<void>;
}

export async function makeFixture(driver: string): Promise<Fixture> {
  const root = await mkdtemp(join(tmpdir(), `ck-snap-${driver}-`));
  const sn = await openSnapshotter(root, driver);
  return {
    driver,
    root,
    sn,
    at: async (key, fn) => withMounts(await sn.mounts(key), () => sn.mountTarget(), fn),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}
