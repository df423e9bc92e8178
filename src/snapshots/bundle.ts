/**
 * An OCI runtime bundle from an unpacked image: `DIR/rootfs` and `DIR/config.json`.
 *
 * The rootfs depends on the driver. overlay: an Active snapshot keyed `bundle <DIR>` on top
 * of the image's chain, mounted at DIR/rootfs — nothing is copied and the container's writes
 * land in that snapshot (remove it with `dist snapshots rm`, which unmounts it first).
 * naive: a plain copy of the image's top snapshot, owned by the bundle and independent of
 * the store. Either way the image's snapshots stay read-only.
 */
import { mkdir, readdir, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Store } from '../content/types.js';
import { alreadyExists, isKind } from '../errors.js';
import type { ResolvedImage } from '../oci/resolve-image.js';
import { resolveUser, runtimeSpec } from '../oci/runtime-spec.js';
import { isMountPoint, mountAll } from './mount.js';
import { copyTree } from './naive.js';
import type { StoreSnapshotter } from './snapshotter.js';
import { unpackImage, type UnpackOptions, type UnpackResult } from './unpack.js';

export const LABEL_BUNDLE_ROOTFS = 'containerkit.dev/bundle.rootfs';

export interface BundleResult {
  dir: string;
  rootfs: string;
  config: string;
  driver: string;
  /** The image's top snapshot. */
  chainId: string;
  /** overlay: the Active snapshot mounted at rootfs. */
  key?: string;
  unpack: UnpackResult;
}

export function bundleKey(dir: string): string {
  return `bundle ${resolve(dir)}`;
}

async function emptyOrMissing(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length === 0;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw err;
  }
}

export async function createBundle(store: Store, sn: StoreSnapshotter, image: ResolvedImage, dirArg: string, o: UnpackOptions = {}): Promise<BundleResult> {
  const dir = resolve(dirArg);
  const rootfs = join(dir, 'rootfs');
  const config = join(dir, 'config.json');
  if (!(await emptyOrMissing(rootfs)) || (await isMountPoint(rootfs))) {
    throw alreadyExists('ERR_BUNDLE_EXISTS', `${rootfs} exists and is not empty: remove the old bundle first`, { path: rootfs });
  }
  await mkdir(dir, { recursive: true });
  const unpack = await unpackImage(store, sn, image, o);
  let key: string | undefined;
  const source = await sn.contentDir(unpack.chainId);
  if (source !== undefined) {
    await rmdir(rootfs).catch(() => {});
    // Copied beside the target and renamed, so an interrupted copy never looks like a rootfs.
    const tmp = join(dir, `.rootfs-${process.pid}-${Date.now()}`);
    try {
      await copyTree(source, tmp);
      await rename(tmp, rootfs);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  } else {
    key = bundleKey(dir);
    let mounts;
    try {
      mounts = await sn.prepare(key, unpack.chainId, { labels: { [LABEL_BUNDLE_ROOTFS]: rootfs } });
    } catch (err) {
      // A bundle whose mount step was interrupted: reuse its snapshot if it sits on this image.
      if (!isKind(err, 'AlreadyExists') || (await sn.stat(key)).parent !== unpack.chainId) throw err;
      mounts = await sn.mounts(key);
    }
    await mkdir(rootfs, { recursive: true });
    await mountAll(mounts, rootfs);
  }
  const user = await resolveUser(image.config.config.User, rootfs);
  const spec = runtimeSpec(image.config, user);
  await writeFile(config, JSON.stringify(spec, null, 2) + '\n', { mode: 0o644 });
  return { dir, rootfs, config, driver: sn.driver, chainId: unpack.chainId, ...(key ? { key } : {}), unpack };
}
