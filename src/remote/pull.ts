/**
 * Pull: resolve a name, fetch its manifest (or index → the chosen platform(s)), then the
 * config and layers into the store with bounded parallelism, and finally record the name in
 * the layout's index.json.
 *
 * Order is children first: config and layers are committed before the manifest blob that
 * names them, and the name is recorded last, so a manifest present in the store (and any
 * name in index.json) always has its whole tree present. Each distinct digest is fetched
 * once per pull (a layer repeated in a manifest, layers shared between platforms). The
 * first failure cancels the other transfers (their partial data is kept for the next run).
 */
import type { Store } from '../content/types.js';
import { writeBlob } from '../content/write-blob.js';
import { ContentError, notFound } from '../errors.js';
import { recordImage } from '../oci/images.js';
import type { BadEntry } from '../oci/index-entry.js';
import { storeOciView } from '../oci/view.js';
import type { RegistryClient } from './client.js';
import { parseIndex, parseManifest, type Descriptor } from './descriptor.js';
import { isIndex, isManifest } from './media-types.js';
import { choosePlatform, formatPlatform, hostPlatform, type PlatformSpec } from './platform.js';
import { formatReference, objectOf, type Reference } from './reference.js';
import type { RetryPolicy } from './retry.js';
import { transferBlob, type BlobState } from './transfer.js';
import { DEFAULT_CONCURRENCY, DEFAULT_PULL_CONCURRENCY } from './defaults.js';
import { mapLimit } from './map-limit.js';
import { MAX_MANIFEST, MAX_PULL_MANIFESTS } from './limits.js';

export { DEFAULT_CONCURRENCY, DEFAULT_PULL_CONCURRENCY };

export type BlobKind = 'manifest' | 'config' | 'layer';

export type PullEvent =
  | { event: 'resolved'; name: string; digest: string; mediaType: string; size: number }
  | { event: 'blob'; ref: string; kind: BlobKind; digest: string; state: BlobState; offset: number; total: number }
  | { event: 'progress'; ref: string; offset: number; total: number };

export interface PullOptions {
  store: Store;
  client: RegistryClient;
  reference: Reference;
  platform?: PlatformSpec;
  allPlatforms?: boolean;
  concurrency?: number;
  signal?: AbortSignal;
  retry?: RetryPolicy;
  onEvent?: (e: PullEvent) => void;
  /**
   * Protects blobs from the garbage collector (a lease, src/metadata/with-lease.ts): called
   * with every digest of the tree before any of them is checked for presence or written.
   */
  protect?: (digests: string[]) => Promise<void>;
}

export interface PullResult {
  /** The name recorded in index.json. */
  name: string;
  /** What the name points at: the platform manifest, or the index with --all-platforms. */
  target: Descriptor;
  /** The resolved top-level descriptor (an index when the name is multi-platform). */
  resolved: Descriptor;
  /** Distinct blobs of the pulled tree and their total size. */
  blobs: number;
  totalBytes: number;
  /** Bytes received from the network for config and layers (manifests excluded). */
  receivedBytes: number;
  existing: number;
  elapsedMs: number;
  /** Entries of index.json that are not valid descriptors, kept as they were. */
  badIndexEntries: BadEntry[];
}

export function blobRef(kind: BlobKind, digest: string): string {
  return `${kind}-${digest}`;
}

interface Fetched {
  descriptor: Descriptor;
  bytes: Buffer;
}

export async function pull(o: PullOptions): Promise<PullResult> {
  const started = performance.now();
  const { store, client, reference } = o;
  const emit = o.onEvent ?? (() => {});
  const name = formatReference({ ...reference, ...(reference.tag === undefined && reference.digest === undefined ? { tag: 'latest' } : {}) });
  // One controller for the whole pull: the caller's abort or our first failure stops everything.
  const ac = new AbortController();
  const onOuterAbort = () => ac.abort(o.signal!.reason);
  o.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const signal = ac.signal;
  try {
    const repo = reference.repository;
    const top = await client.fetchManifest(repo, objectOf(reference), { signal });
    emit({ event: 'resolved', name, ...top.descriptor });

    // Manifests to pull (and the index above them, when there is one).
    const manifests: Fetched[] = [];
    let target = top.descriptor;
    if (isIndex(top.descriptor.mediaType)) {
      const index = parseIndex(top.bytes, top.descriptor.digest);
      const wanted = o.allPlatforms ? index.manifests : pick(index.manifests, o.platform ?? hostPlatform(), name);
      if (!o.allPlatforms) target = wanted[0]!;
      checkManifestBudget(name, wanted);
      for (const d of wanted) {
        emit({ event: 'blob', ref: blobRef('manifest', d.digest), kind: 'manifest', digest: d.digest, state: 'resolving', offset: 0, total: d.size });
        const m = await client.fetchManifest(repo, d.digest, { expected: d, signal });
        manifests.push({ descriptor: { ...m.descriptor, ...(d.platform ? { platform: d.platform } : {}) }, bytes: m.bytes });
      }
    } else if (isManifest(top.descriptor.mediaType)) {
      manifests.push(top);
    } else {
      throw notFound('ERR_NOT_AN_IMAGE', `${name} is ${top.descriptor.mediaType}, not an image manifest or index`, { digest: top.descriptor.digest });
    }

    // Distinct children, config first (it is small and tells a reader what the image is).
    const children = new Map<string, { kind: BlobKind; d: Descriptor }>();
    for (const m of manifests) {
      const parsed = parseManifest(m.bytes, m.descriptor.digest);
      for (const [kind, d] of [['config', parsed.config] as const, ...parsed.layers.map((l) => ['layer', l] as const)]) {
        const seen = children.get(d.digest);
        if (seen && seen.d.size !== d.size) {
          throw new ContentError('DataLoss', 'ERR_BAD_MANIFEST', `${name}: blob ${d.digest} listed with sizes ${seen.d.size} and ${d.size}`, { digest: d.digest });
        }
        if (!seen) children.set(d.digest, { kind, d });
      }
    }
    const items = [...children.values()];
    for (const { kind, d } of items) {
      emit({ event: 'blob', ref: blobRef(kind, d.digest), kind, digest: d.digest, state: 'resolving', offset: 0, total: d.size });
    }

    // Parents after children: platform manifests, then the index.
    const parents = [...manifests, ...(isIndex(top.descriptor.mediaType) ? [top] : [])];
    await o.protect?.([...items.map((i) => i.d.digest), ...parents.map((m) => m.descriptor.digest)]);

    let received = 0;
    let existing = 0;
    await mapLimit(items, Math.max(1, o.concurrency ?? DEFAULT_PULL_CONCURRENCY), ac, async ({ kind, d }) => {
      const ref = blobRef(kind, d.digest);
      const base = { event: 'blob' as const, ref, kind, digest: d.digest, total: d.size };
      const r = await transferBlob(store, client, repo, d, ref, {
        signal,
        retry: o.retry,
        onState: (state, offset) => emit({ ...base, state, offset }),
        onProgress: (offset) => emit({ event: 'progress', ref, offset, total: d.size }),
      });
      received += r.received;
      if (r.existed) existing++;
    });

    for (const m of parents) {
      const d = m.descriptor;
      const ref = blobRef('manifest', d.digest);
      const r = await writeBlob(store, ref, { size: m.bytes.length, read: async (pos, len) => m.bytes.subarray(pos, pos + len) }, {
        size: d.size, expected: d.digest, wait: true, signal,
      });
      if (r.existed) existing++;
      emit({ event: 'blob', ref, kind: 'manifest', digest: d.digest, state: r.existed ? 'exists' : 'done', offset: d.size, total: d.size });
    }

    const docs = new Map(parents.map((m) => [m.descriptor.digest, m.bytes]));
    const view = await storeOciView(store, target, docs, signal, o.protect);
    const badIndexEntries = await recordImage(store.root, { name, mediaType: target.mediaType, digest: target.digest, size: target.size, platform: target.platform, view });
    const totalBytes = items.reduce((t, i) => t + i.d.size, 0) + parents.reduce((t, m) => t + m.descriptor.size, 0);
    return {
      name,
      target,
      resolved: top.descriptor,
      blobs: items.length + parents.length,
      totalBytes,
      receivedBytes: received,
      existing,
      elapsedMs: performance.now() - started,
      badIndexEntries,
    };
  } finally {
    o.signal?.removeEventListener('abort', onOuterAbort);
  }
}

/**
 * The chosen children are held in memory until their blobs are committed; each read is
 * bounded by min(declared size, MAX_MANIFEST) (client.fetchManifest), so their sum bounds
 * the memory, and a pull over the budget fails before fetching any of them.
 */
function checkManifestBudget(name: string, wanted: readonly Descriptor[]): void {
  const total = wanted.reduce((t, d) => t + Math.min(d.size, MAX_MANIFEST), 0);
  if (total > MAX_PULL_MANIFESTS) {
    throw new ContentError('DataLoss', 'ERR_MANIFEST_TOO_LARGE', `${name}: ${wanted.length} manifests declare ${total} bytes in total, over the ${MAX_PULL_MANIFESTS}-byte limit for one pull`, {
      expected: MAX_PULL_MANIFESTS, actual: total,
    });
  }
}

function pick(manifests: Descriptor[], want: PlatformSpec, name: string): Descriptor[] {
  const d = choosePlatform(manifests, want);
  if (!d) {
    const have = manifests.flatMap((m) => (m.platform ? [formatPlatform(m.platform)] : [])).join(', ') || 'none';
    throw notFound('ERR_NO_MATCHING_PLATFORM', `${name}: no manifest for platform ${formatPlatform(want)} (available: ${have})`, {
      expected: formatPlatform(want), actual: have,
    });
  }
  return [d];
}
