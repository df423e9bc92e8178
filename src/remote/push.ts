/**
 * Push: an image or index from the store and everything it references to a repository.
 *
 * Order is children first: configs and layers (each once, `concurrency` at a time, see
 * upload.ts), then the manifests an index names (by digest), then the top document under its
 * tag — so a tag on the registry never names a manifest whose blobs are missing, and an
 * interrupted push leaves at most untagged content behind. The first failure cancels the
 * uploads in flight (each ends its segment cleanly and records its session for the rerun).
 */
import type { Store } from '../content/types.js';
import { dataLoss, isKind } from '../errors.js';
import { pushScope } from './auth.js';
import type { RegistryClient } from './client.js';
import { DEFAULT_PUSH_CONCURRENCY } from './defaults.js';
import type { Descriptor } from './descriptor.js';
import { discard, header } from './http.js';
import { imageTree, type BlobKind, type Document } from './image-tree.js';
import { mapLimit } from './map-limit.js';
import { acceptHeader } from './media-types.js';
import { formatReference, type Reference } from './reference.js';
import type { RetryPolicy } from './retry.js';
import { pushBlob, type PushState } from './upload.js';
import { UploadRecords } from './upload-record.js';

export type { PushState };

export type PushEvent =
  | { event: 'resolved'; name: string; source: string; digest: string; mediaType: string; size: number }
  | { event: 'blob'; ref: string; kind: BlobKind; digest: string; state: PushState; offset: number; total: number }
  | { event: 'progress'; ref: string; offset: number; total: number };

export interface PushOptions {
  store: Store;
  client: RegistryClient;
  /** The stored image: its top descriptor (an image manifest or index) and its name. */
  top: Descriptor;
  source: string;
  /** Where it goes: the client's registry, a repository, and a tag (or the top's digest). */
  destination: Reference;
  /** Sibling repositories that may hold the blobs (mount candidates). */
  mountFrom?: readonly string[];
  /** Upload records of the store root (default: opened on `store.root`). */
  records?: UploadRecords;
  concurrency?: number;
  signal?: AbortSignal;
  retry?: RetryPolicy;
  /** Test and tuning knobs (upload.ts). */
  monolithicMax?: number;
  segmentBytes?: number;
  onEvent?: (e: PushEvent) => void;
}

export interface PushResult {
  /** `host/repo:tag` (or `@digest`) pushed. */
  name: string;
  source: string;
  /** The top document pushed. */
  target: Descriptor;
  /** Distinct blobs of the tree (configs, layers, manifests) and their total size. */
  blobs: number;
  totalBytes: number;
  /** Bytes of configs and layers sent to the registry (manifests excluded). */
  sentBytes: number;
  /** Already in the repository (HEAD), mounted from a sibling repository, resumed. */
  existing: number;
  mounted: number;
  resumed: number;
  elapsedMs: number;
}

export function blobRef(kind: BlobKind, digest: string): string {
  return `${kind}-${digest}`;
}

export async function push(o: PushOptions): Promise<PushResult> {
  const started = performance.now();
  const { store, client, destination: dest } = o;
  const repo = dest.repository;
  const name = formatReference(dest);
  const emit = o.onEvent ?? (() => {});
  const records = o.records ?? new UploadRecords(store.root);
  const ac = new AbortController();
  const onOuterAbort = () => ac.abort(o.signal!.reason);
  if (o.signal?.aborted) ac.abort(o.signal.reason);
  o.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const signal = ac.signal;
  try {
    const tree = await imageTree(store, o.top, o.source);
    const top = tree.documents[tree.documents.length - 1]!;
    emit({ event: 'resolved', name, source: o.source, ...top.descriptor });
    for (const { kind, d } of tree.blobs) emit({ event: 'blob', ref: blobRef(kind, d.digest), kind, digest: d.digest, state: 'checking', offset: 0, total: d.size });

    let sent = 0;
    let existing = 0;
    let mounted = 0;
    let resumed = 0;
    await mapLimit(tree.blobs, Math.max(1, o.concurrency ?? DEFAULT_PUSH_CONCURRENCY), ac, async ({ kind, d }) => {
      const ref = blobRef(kind, d.digest);
      const base = { event: 'blob' as const, ref, kind, digest: d.digest, total: d.size };
      const r = await pushBlob(d, {
        store, client, records, repository: repo, mountFrom: o.mountFrom, what: kind, signal, retry: o.retry,
        monolithicMax: o.monolithicMax, segmentBytes: o.segmentBytes,
        onState: (state, offset) => emit({ ...base, state, offset }),
        onProgress: (offset) => emit({ event: 'progress', ref, offset, total: d.size }),
      });
      sent += r.sent;
      if (r.outcome === 'exists') existing++;
      if (r.outcome === 'mounted') mounted++;
      if (r.resumedFrom > 0) resumed++;
    });

    // Parents after children; the top last, under its tag.
    for (const doc of tree.documents) {
      const isTop = doc === top;
      const ref = blobRef('manifest', doc.descriptor.digest);
      const base = { event: 'blob' as const, ref, kind: 'manifest' as const, digest: doc.descriptor.digest, total: doc.descriptor.size };
      emit({ ...base, state: 'checking', offset: 0 });
      if (!isTop && (await manifestExists(client, repo, doc.descriptor, signal))) {
        existing++;
        emit({ ...base, state: 'exists', offset: doc.descriptor.size });
        continue;
      }
      emit({ ...base, state: 'uploading', offset: 0 });
      await putManifest(client, repo, isTop ? (dest.tag ?? doc.descriptor.digest) : doc.descriptor.digest, doc, signal);
      emit({ ...base, state: 'done', offset: doc.descriptor.size });
    }
    const totalBytes = tree.blobs.reduce((t, b) => t + b.d.size, 0) + tree.documents.reduce((t, m) => t + m.descriptor.size, 0);
    return {
      name, source: o.source, target: top.descriptor, blobs: tree.blobs.length + tree.documents.length, totalBytes,
      sentBytes: sent, existing, mounted, resumed, elapsedMs: performance.now() - started,
    };
  } finally {
    o.signal?.removeEventListener('abort', onOuterAbort);
  }
}

async function manifestExists(client: RegistryClient, repo: string, d: Descriptor, signal: AbortSignal): Promise<boolean> {
  try {
    const res = await client.request(`/v2/${repo}/manifests/${d.digest}`, {
      method: 'HEAD', repository: repo, scope: pushScope(repo), what: `manifest ${client.host}/${repo}@${d.digest}`, signal,
      headers: { accept: acceptHeader([d.mediaType]) },
    });
    discard(res.body);
    return true;
  } catch (err) {
    if (isKind(err, 'NotFound')) return false;
    throw err;
  }
}

/** PUT a manifest or index as stored (byte for byte: its digest is its name). */
async function putManifest(client: RegistryClient, repo: string, reference: string, doc: Document, signal: AbortSignal): Promise<void> {
  const what = `manifest ${client.host}/${repo}${reference.includes(':') ? '@' : ':'}${reference}`;
  const res = await client.request(`/v2/${repo}/manifests/${reference}`, {
    method: 'PUT', repository: repo, scope: pushScope(repo), what, signal,
    headers: { 'content-type': doc.descriptor.mediaType }, body: doc.bytes,
  });
  discard(res.body);
  const got = header(res.headers, 'docker-content-digest');
  if (got && got !== doc.descriptor.digest) {
    throw dataLoss('ERR_DIGEST_MISMATCH', `${what}: the registry stored it as ${got}, not ${doc.descriptor.digest}`, { digest: doc.descriptor.digest, expected: doc.descriptor.digest, actual: got });
  }
}
