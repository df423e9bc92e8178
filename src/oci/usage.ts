/**
 * Size of a named image as stored: the manifest plus its config and distinct layers (for an
 * index, every child manifest that is present). Blobs missing from the store are counted as
 * missing rather than failing, so `images` still lists a partly deleted image.
 */
import type { Store } from '../content/types.js';
import { isDigest } from '../digest.js';
import { isKind } from '../errors.js';

const INDEX_TYPES = new Set(['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']);

interface Desc {
  digest: string;
  size: number;
  mediaType?: string;
}

export interface Usage {
  /** Bytes of every distinct blob reachable from the entry. */
  size: number;
  /** Reachable blobs absent from the store. */
  missing: number;
}

async function readJson(store: Store, digest: string): Promise<Record<string, unknown> | undefined> {
  try {
    const r = await store.readerAt(digest);
    try {
      if (r.size > 4 << 20) return undefined;
      return JSON.parse((await r.read(0, r.size)).toString('utf8')) as Record<string, unknown>;
    } finally {
      await r.close();
    }
  } catch (err) {
    if (isKind(err, 'NotFound') || err instanceof SyntaxError) return undefined;
    throw err;
  }
}

export async function imageUsage(store: Store, root: Desc): Promise<Usage> {
  const seen = new Map<string, number>();
  let missing = 0;
  const visit = async (d: Desc, depth: number): Promise<void> => {
    if (seen.has(d.digest)) return;
    seen.set(d.digest, d.size);
    if (depth > 2) return;
    const doc = await readJson(store, d.digest);
    if (!doc) {
      missing++;
      return;
    }
    const isIdx = INDEX_TYPES.has(d.mediaType ?? '') || Array.isArray(doc.manifests);
    // Stored manifests are ours to parse, not to trust: anything not a descriptor is ignored.
    const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
    const kids = (isIdx ? list(doc.manifests) : [doc.config, ...list(doc.layers)]).filter(
      (k): k is Desc => typeof k === 'object' && k !== null && isDigest((k as Desc).digest) && Number.isSafeInteger((k as Desc).size),
    );
    for (const k of kids) {
      if (isIdx) {
        // Children of an index that were never pulled (other platforms) are not counted.
        if (await present(store, k.digest)) await visit(k, depth + 1);
      } else if (!seen.has(k.digest)) {
        seen.set(k.digest, k.size);
        if (!(await present(store, k.digest))) missing++;
      }
    }
  };
  await visit(root, 0);
  return { size: [...seen.values()].reduce((a, b) => a + b, 0), missing };
}

async function present(store: Store, digest: string): Promise<boolean> {
  try {
    await store.info(digest);
    return true;
  } catch (err) {
    if (isKind(err, 'NotFound') || isKind(err, 'InvalidArgument')) return false;
    throw err;
  }
}
