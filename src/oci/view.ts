/**
 * Writes the OCI twin (see convert.ts) of a pulled Docker manifest or manifest list into
 * the store, after the originals, and returns its descriptor for index.json.
 */
import type { Store } from '../content/types.js';
import { writeBlob } from '../content/write-blob.js';
import type { Descriptor } from '../remote/descriptor.js';
import { DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST } from '../remote/media-types.js';
import { sha256Of } from '../remote/verify.js';
import { needsOciView, ociIndex, ociManifest } from './convert.js';

type Protect = (digests: string[]) => Promise<void>;

async function put(store: Store, bytes: Buffer, mediaType: string, signal?: AbortSignal, protect?: Protect): Promise<Descriptor> {
  const digest = sha256Of(bytes);
  await writeBlob(store, `manifest-${digest}`, { size: bytes.length, read: async (p, n) => bytes.subarray(p, p + n) }, {
    size: bytes.length, expected: digest, wait: true, signal, protect: protect && ((d) => protect([d])),
  });
  return { mediaType, digest, size: bytes.length };
}

/**
 * `docs` holds the bytes of the target and (for an index) of its pulled children. Returns
 * undefined when the target is OCI already.
 */
export async function storeOciView(
  store: Store,
  target: Descriptor,
  docs: ReadonlyMap<string, Buffer>,
  signal?: AbortSignal,
  protect?: Protect,
): Promise<Descriptor | undefined> {
  if (!needsOciView(target.mediaType)) return undefined;
  const bytes = docs.get(target.digest)!;
  if (target.mediaType === DOCKER_MANIFEST) {
    return { ...(await put(store, ociManifest(bytes), OCI_MANIFEST, signal, protect)), ...(target.platform ? { platform: target.platform } : {}) };
  }
  const twins = new Map<string, Descriptor>();
  for (const [digest, child] of docs) {
    if (digest === target.digest) continue;
    const mt = (JSON.parse(child.toString('utf8')) as { mediaType?: string }).mediaType;
    if (mt === DOCKER_MANIFEST) twins.set(digest, await put(store, ociManifest(child), OCI_MANIFEST, signal, protect));
  }
  return put(store, ociIndex(bytes, twins), OCI_INDEX, signal, protect);
}
