/**
 * The content graph of a stored image, as a push needs it: every document (manifests and
 * indexes, children before parents) and every distinct blob they reference (configs and
 * layers). Documents are read from the store with a size cap, checked against their digest
 * (a corrupt manifest is never pushed) and parsed by the validating parsers of
 * descriptor.ts; the sum held in memory is bounded like a pull's (MAX_PULL_MANIFESTS).
 */
import type { Store } from '../content/types.js';
import { ContentError, dataLoss, isKind, notFound } from '../errors.js';
import { parseIndex, parseManifest, type Descriptor } from './descriptor.js';
import { MAX_MANIFEST, MAX_PULL_MANIFESTS } from './limits.js';
import { isIndex, isManifest } from './media-types.js';
import { verifier } from './verify.js';

export type BlobKind = 'manifest' | 'config' | 'layer';

export interface Document {
  descriptor: Descriptor;
  bytes: Buffer;
}

export interface ImageTree {
  /** Children before parents; the last one is the top (what a tag names). */
  documents: Document[];
  /** Distinct configs and layers, configs first per manifest. */
  blobs: Array<{ kind: BlobKind; d: Descriptor }>;
}

/** Indexes may nest (an index of indexes); deeper than this is refused. */
const MAX_DEPTH = 4;

async function readDocument(store: Store, d: Descriptor, what: string): Promise<Buffer> {
  if (d.size > MAX_MANIFEST) {
    throw dataLoss('ERR_MANIFEST_TOO_LARGE', `${what} ${d.digest}: ${d.size} bytes is over the ${MAX_MANIFEST}-byte limit for manifests`, { digest: d.digest, expected: MAX_MANIFEST, actual: d.size });
  }
  let r;
  try {
    r = await store.readerAt(d.digest);
  } catch (err) {
    if (isKind(err, 'NotFound')) throw notFound('ERR_BLOB_NOT_FOUND', `${what} ${d.digest} is not in the store (pulled for one platform? pull with --all-platforms)`, { digest: d.digest });
    throw err;
  }
  try {
    const bytes = await r.read(0, Math.min(r.size, MAX_MANIFEST + 1));
    const v = await verifier(d.digest, d.size);
    v.update(bytes);
    try {
      v.check(what);
    } catch (err) {
      const why = err instanceof ContentError ? err.message.replace(/^.*?: /, '') : String(err);
      throw dataLoss('ERR_LOCAL_CORRUPT', `${what} ${d.digest} in the store is corrupt (${why}); nothing was pushed (dist verify ${d.digest})`, {
        digest: d.digest, expected: d.digest, actual: err instanceof ContentError ? err.details.actual : undefined,
      });
    }
    return bytes;
  } finally {
    await r.close();
  }
}

/** Media type a stored document declares (for a top descriptor recorded without one). */
export function declaredType(bytes: Buffer): string | undefined {
  try {
    const m = JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown; manifests?: unknown; layers?: unknown };
    if (typeof m.mediaType === 'string') return m.mediaType;
    if (Array.isArray(m.manifests)) return 'application/vnd.oci.image.index.v1+json';
    if (Array.isArray(m.layers)) return 'application/vnd.oci.image.manifest.v1+json';
  } catch {
    /* not JSON: the parsers say so */
  }
  return undefined;
}

export async function imageTree(store: Store, top: Descriptor, name: string): Promise<ImageTree> {
  const documents: Document[] = [];
  const seenDocs = new Set<string>();
  const blobs = new Map<string, { kind: BlobKind; d: Descriptor }>();
  let held = 0;

  const visit = async (d: Descriptor, depth: number, what: string): Promise<void> => {
    if (seenDocs.has(d.digest)) return;
    seenDocs.add(d.digest);
    held += d.size;
    if (held > MAX_PULL_MANIFESTS) {
      throw dataLoss('ERR_MANIFEST_TOO_LARGE', `${name}: its manifests hold more than the ${MAX_PULL_MANIFESTS}-byte limit for one push`, { expected: MAX_PULL_MANIFESTS, actual: held });
    }
    const bytes = await readDocument(store, d, what);
    const mediaType = isIndex(d.mediaType) || isManifest(d.mediaType) ? d.mediaType : declaredType(bytes) ?? d.mediaType;
    if (isIndex(mediaType)) {
      if (depth >= MAX_DEPTH) throw dataLoss('ERR_BAD_MANIFEST', `${name}: indexes nested deeper than ${MAX_DEPTH}`, { digest: d.digest });
      for (const child of parseIndex(bytes, d.digest).manifests) await visit(child, depth + 1, `manifest of ${name}`);
    } else if (isManifest(mediaType)) {
      const m = parseManifest(bytes, d.digest);
      for (const [kind, b] of [['config', m.config] as const, ...m.layers.map((l) => ['layer', l] as const)]) {
        const seen = blobs.get(b.digest);
        if (seen && seen.d.size !== b.size) {
          throw new ContentError('DataLoss', 'ERR_BAD_MANIFEST', `${name}: blob ${b.digest} listed with sizes ${seen.d.size} and ${b.size}`, { digest: b.digest });
        }
        if (!seen) blobs.set(b.digest, { kind, d: b });
      }
    } else {
      throw notFound('ERR_NOT_AN_IMAGE', `${name}: ${d.digest} is ${mediaType}, not an image manifest or index`, { digest: d.digest });
    }
    documents.push({ descriptor: { ...d, mediaType }, bytes });
  };
  await visit(top, 0, `manifest of ${name}`);
  return { documents, blobs: [...blobs.values()] };
}
