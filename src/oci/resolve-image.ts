/**
 * From an image name (as `dist images` lists it) or a manifest digest to the manifest and
 * config in the store, picking one platform from an index. Every document is read with a
 * size cap and parsed with the validating parsers of src/remote/descriptor.ts.
 */
import type { Store } from '../content/types.js';
import { isDigest } from '../digest.js';
import { failedPrecondition, isKind, notFound } from '../errors.js';
import { parseIndex, parseManifest, type Descriptor, type ImageManifest } from '../remote/descriptor.js';
import { isIndex } from '../remote/media-types.js';
import { choosePlatform, formatPlatform, hostPlatform, type PlatformSpec } from '../remote/platform.js';
import { parseImageConfig, type ImageConfig } from './image-config.js';
import { listImages } from './images.js';

const MAX_DOC_BYTES = 4 << 20;

export interface ResolvedImage {
  name: string;
  manifest: ImageManifest;
  manifestDigest: string;
  config: ImageConfig;
  configDigest: string;
}

/** A JSON document from the store, at most `MAX_DOC_BYTES`. */
export async function readDoc(store: Store, digest: string, what: string): Promise<Buffer> {
  const r = await store.readerAt(digest).catch((err) => {
    if (isKind(err, 'NotFound')) throw notFound('ERR_BLOB_NOT_FOUND', `${what} ${digest} is not in the store (pull the image first)`, { digest });
    throw err;
  });
  try {
    if (r.size > MAX_DOC_BYTES) throw failedPrecondition('ERR_DOC_TOO_LARGE', `${what} ${digest} is ${r.size} bytes, more than the ${MAX_DOC_BYTES} allowed`, { digest, actual: r.size });
    return await r.read(0, r.size);
  } finally {
    await r.close();
  }
}

export async function resolveImage(store: Store, nameOrDigest: string, platform?: PlatformSpec): Promise<ResolvedImage> {
  const { images } = await listImages(store.root);
  const rec = images.find((i) => i.name === nameOrDigest) ?? images.find((i) => i.digest === nameOrDigest);
  let desc: Pick<Descriptor, 'digest' | 'mediaType'>;
  if (rec) desc = rec;
  else if (isDigest(nameOrDigest)) desc = { digest: nameOrDigest, mediaType: '' };
  else throw notFound('ERR_IMAGE_NOT_FOUND', `image ${JSON.stringify(nameOrDigest)} not found (see dist images)`, { actual: nameOrDigest });

  let bytes = await readDoc(store, desc.digest, 'manifest');
  const mediaType = desc.mediaType || (JSON.parse(bytes.toString('utf8')) as { mediaType?: string }).mediaType;
  if (isIndex(mediaType) || (!mediaType && Array.isArray((JSON.parse(bytes.toString('utf8')) as { manifests?: unknown }).manifests))) {
    const want = platform ?? hostPlatform();
    const child = choosePlatform(parseIndex(bytes, desc.digest).manifests, want);
    if (!child) throw notFound('ERR_PLATFORM_NOT_FOUND', `image ${JSON.stringify(nameOrDigest)} has no manifest for ${formatPlatform(want)}`, { digest: desc.digest, expected: formatPlatform(want) });
    desc = child;
    bytes = await readDoc(store, child.digest, `manifest for ${formatPlatform(want)}`);
  }
  const manifest = parseManifest(bytes, desc.digest);
  const config = parseImageConfig(await readDoc(store, manifest.config.digest, 'image config'), manifest.config.digest);
  if (config.diffIds.length !== manifest.layers.length) {
    throw failedPrecondition('ERR_BAD_IMAGE_CONFIG', `image ${desc.digest}: ${manifest.layers.length} layers but ${config.diffIds.length} diff_ids in config ${manifest.config.digest}`, {
      digest: desc.digest,
      expected: manifest.layers.length,
      actual: config.diffIds.length,
    });
  }
  return { name: rec?.name ?? nameOrDigest, manifest, manifestDigest: desc.digest, config, configDigest: manifest.config.digest };
}
