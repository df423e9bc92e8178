/**
 * Unpack: an image's layers applied into a chain of committed snapshots named by chain ID,
 * so images sharing lower layers share those snapshots and a second unpack applies nothing.
 *
 * Each missing layer is applied into a fresh Active snapshot with a private key, checked
 * against its diffID, then committed under its chain ID. Two processes unpacking the same
 * image at once may both apply a layer; the first commit wins, the other gets AlreadyExists,
 * drops its copy and continues on the winner's snapshot. A failure (a diffID mismatch, a
 * hostile archive, a signal) removes the Active snapshot: nothing half-applied is committed.
 */
import { createReadStream } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { Store } from '../content/types.js';
import { failedPrecondition, isKind } from '../errors.js';
import { applyLayer, type ApplyResult } from '../archive/apply.js';
import { chainIds } from '../oci/image-config.js';
import type { ResolvedImage } from '../oci/resolve-image.js';
import { withMounts } from './mount.js';
import { ownerGone, ownerTag } from './scratch.js';
import type { StoreSnapshotter } from './snapshotter.js';

const LAYER_TYPES = new Set([
  'application/vnd.oci.image.layer.v1.tar',
  'application/vnd.oci.image.layer.v1.tar+gzip',
  'application/vnd.oci.image.layer.v1.tar+zstd',
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  'application/vnd.docker.image.rootfs.diff.tar.gzip',
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  'application/vnd.docker.image.rootfs.diff.tar',
]);

export const LABEL_LAYER = 'containerkit.dev/layer.digest';
export const LABEL_DIFF_ID = 'containerkit.dev/layer.diff-id';
/** On the Active snapshot a layer is applied into: the unpacking process (`<pid>-<start ticks>`). */
export const LABEL_UNPACK_OWNER = 'containerkit.dev/unpack.owner';

export interface UnpackedLayer {
  digest: string;
  diffId: string;
  chainId: string;
  /** `applied` by this call, or `present` already (unpacked before, or by a concurrent process). */
  state: 'applied' | 'present';
  ms?: number;
}

export interface UnpackResult {
  /** Chain ID of the top layer: the snapshot holding the image's root file system. */
  chainId: string;
  layers: UnpackedLayer[];
  warnings: string[];
}

export interface UnpackOptions {
  signal?: AbortSignal;
  onLayer?: (l: UnpackedLayer) => void;
}

/**
 * Removes the Active snapshots of unpacks whose process died (SIGKILL, power loss) before
 * they could commit or remove them. They block nothing (their keys are private), but would
 * otherwise stay forever.
 */
export async function removeAbandoned(sn: StoreSnapshotter): Promise<string[]> {
  const dead: string[] = [];
  await sn.walk((i) => {
    const owner = i.labels[LABEL_UNPACK_OWNER];
    if (owner && ownerGone(`${owner}-`)) dead.push(i.name);
  }, `kind==active,labels."${LABEL_UNPACK_OWNER}"`);
  for (const key of dead) await sn.remove(key).catch(() => {});
  return dead;
}

async function exists(sn: StoreSnapshotter, name: string): Promise<boolean> {
  try {
    return (await sn.stat(name)).kind === 'committed';
  } catch (err) {
    if (isKind(err, 'NotFound')) return false;
    throw err;
  }
}

export async function unpackImage(store: Store, sn: StoreSnapshotter, image: ResolvedImage, o: UnpackOptions = {}): Promise<UnpackResult> {
  const { layers } = image.manifest;
  for (const l of layers) {
    if (!LAYER_TYPES.has(l.mediaType)) {
      throw failedPrecondition('ERR_UNSUPPORTED_LAYER', `layer ${l.digest} of ${image.name} has media type ${l.mediaType}, which cannot be unpacked`, { digest: l.digest, actual: l.mediaType });
    }
  }
  const chains = chainIds(image.config.diffIds);
  await removeAbandoned(sn);
  const out: UnpackedLayer[] = [];
  const warnings = new Set<string>();
  let parent: string | undefined;
  for (let i = 0; i < layers.length; i++) {
    const layer = layers[i]!;
    const chainId = chains[i]!;
    const diffId = image.config.diffIds[i]!;
    const done = (state: UnpackedLayer['state'], ms?: number) => {
      const l: UnpackedLayer = { digest: layer.digest, diffId, chainId, state, ...(ms !== undefined ? { ms } : {}) };
      out.push(l);
      o.onLayer?.(l);
      parent = chainId;
    };
    if (await exists(sn, chainId)) {
      done('present');
      continue;
    }
    o.signal?.throwIfAborted();
    const t = performance.now();
    const path = await store.path(layer.digest);
    const key = `extract-${process.pid}-${randomBytes(4).toString('hex')} ${chainId}`;
    const mounts = await sn.prepare(key, parent, { labels: { [LABEL_LAYER]: layer.digest, [LABEL_UNPACK_OWNER]: ownerTag() } });
    let result: ApplyResult;
    try {
      result = await withMounts(mounts, () => sn.mountTarget(), (dir) =>
        applyLayer(dir, createReadStream(path, { highWaterMark: 1 << 20 }), { expectedDiffId: diffId, signal: o.signal }),
      );
      result.warnings.forEach((w) => warnings.add(w));
      await sn.commit(chainId, key, { labels: { [LABEL_LAYER]: layer.digest, [LABEL_DIFF_ID]: diffId } });
    } catch (err) {
      await sn.remove(key).catch(() => {});
      if (isKind(err, 'AlreadyExists')) {
        done('present'); // a concurrent unpack committed this layer first
        continue;
      }
      throw err;
    }
    done('applied', performance.now() - t);
  }
  if (parent === undefined) throw failedPrecondition('ERR_NO_LAYERS', `image ${image.name} has no layers to unpack`, { digest: image.manifestDigest });
  return { chainId: parent, layers: out, warnings: [...warnings] };
}
