/**
 * The content graph the collector marks: roots, and the edges found in the content itself
 * (index → manifests → config and layers) and in labels (`containerd.io/gc.ref.content*`).
 *
 * Roots: every entry of index.json (names, and the OCI views of Docker images), blobs
 * labelled `containerd.io/gc.root`, what live leases list, and the expected digests of
 * ingests in progress. Only manifests and indexes are read (capped at 4 MiB, parsed as
 * untrusted JSON); every other blob is a leaf, so marking costs a read per manifest, not per
 * blob. A referenced blob that is absent (another platform of an index, not pulled) is simply
 * not there.
 */
import { readdirSync } from 'node:fs';
import { ALGORITHMS, isDigest } from '../digest.js';
import { readIndex } from '../oci/index-file.js';
import { checkEntries, entryName } from '../oci/index-entry.js';
import { readLabels, labelsDir, type Labels } from '../local/labels.js';
import { readRecordSync } from '../local/safe-fs.js';
import { blobPath } from '../local/paths.js';
import { isIndex, isManifest } from '../remote/media-types.js';

export const GC_ROOT = 'containerd.io/gc.root';
export const GC_REF_CONTENT = 'containerd.io/gc.ref.content';
/** Manifests and indexes larger than this are not parsed (registries cap them at 4 MiB). */
const MAX_DOC = 4 << 20;

/** Why a blob is kept: the first path found to it. */
export interface Referrer {
  kind: 'image' | 'label-root' | 'lease' | 'ingest' | 'blob' | 'label-ref';
  /** Image name, lease id, ingest ref, or the referring blob's digest. */
  name: string;
  /** For a blob referenced by another blob: the root that reaches it. */
  root?: Referrer;
}

export interface Roots {
  /** digest → how it is rooted, with the media type when known. */
  digests: Map<string, { referrer: Referrer; mediaType?: string }>;
  /** Labels of every labelled blob (read once, for gc.ref edges). */
  labels: Map<string, Labels>;
}

/** Every label record in the store. */
export function allLabels(root: string): Map<string, Labels> {
  const out = new Map<string, Labels>();
  for (const alg of Object.keys(ALGORITHMS)) {
    let names: string[];
    try {
      names = readdirSync(labelsDir(root, alg));
    } catch {
      continue;
    }
    for (const n of names) {
      const digest = `${alg}:${n}`;
      if (!isDigest(digest)) continue; // locks, temp names
      const l = readLabels(root, digest);
      if (Object.keys(l).length) out.set(digest, l);
    }
  }
  return out;
}

export interface RootSources {
  leaseContent: Map<string, string>;
  ingestExpected: Map<string, string>;
}

export async function collectRoots(root: string, src: RootSources): Promise<Roots> {
  const digests: Roots['digests'] = new Map();
  const add = (d: string, referrer: Referrer, mediaType?: string) => {
    if (!digests.has(d)) digests.set(d, { referrer, mediaType });
  };
  for (const [d, lease] of src.leaseContent) add(d, { kind: 'lease', name: lease });
  const { good } = checkEntries((await readIndex(root)).manifests);
  for (const e of good) add(e.digest, { kind: 'image', name: entryName(e) ?? `(unnamed index.json entry ${e.digest})` }, e.mediaType);
  const labels = allLabels(root);
  for (const [d, l] of labels) if (l[GC_ROOT] !== undefined) add(d, { kind: 'label-root', name: GC_ROOT });
  for (const [d, ref] of src.ingestExpected) add(d, { kind: 'ingest', name: ref });
  return { digests, labels };
}

interface Doc {
  manifests?: unknown;
  config?: unknown;
  layers?: unknown;
  mediaType?: unknown;
}

function readDoc(root: string, digest: string): Doc | undefined {
  const buf = readRecordSync(blobPath(root, digest), MAX_DOC + 1);
  if (!buf || buf.length === 0 || buf.length > MAX_DOC || buf[0] !== 0x7b /* { */) return undefined;
  try {
    const v = JSON.parse(buf.toString('utf8')) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Doc) : undefined;
  } catch {
    return undefined;
  }
}

interface Desc {
  digest: string;
  mediaType?: string;
}

function descriptors(v: unknown): Desc[] {
  if (!Array.isArray(v)) return [];
  return v.filter((d): d is Desc => typeof d === 'object' && d !== null && isDigest((d as Desc).digest)).map((d) => ({
    digest: d.digest,
    mediaType: typeof d.mediaType === 'string' ? d.mediaType : undefined,
  }));
}

/** The children of a manifest or index blob (none for anything else). */
export function children(root: string, digest: string, mediaType: string | undefined): Desc[] {
  // Leaves by type need no read; unknown types (label roots, gc.ref targets) are sniffed.
  if (mediaType && !isIndex(mediaType) && !isManifest(mediaType)) return [];
  const doc = readDoc(root, digest);
  if (!doc) return [];
  const kids = [...descriptors(doc.manifests), ...descriptors(doc.layers)];
  const cfg = doc.config as Desc | undefined;
  if (cfg && typeof cfg === 'object' && isDigest(cfg.digest)) kids.push({ digest: cfg.digest, mediaType: typeof cfg.mediaType === 'string' ? cfg.mediaType : undefined });
  return kids;
}

/** Blobs a blob's labels point at (`containerd.io/gc.ref.content*`). */
export function labelRefs(labels: Labels | undefined): string[] {
  if (!labels) return [];
  return Object.entries(labels)
    .filter(([k, v]) => (k === GC_REF_CONTENT || k.startsWith(`${GC_REF_CONTENT}.`)) && isDigest(v))
    .map(([, v]) => v);
}

/**
 * Marks everything reachable from the roots; returns each marked digest with the first
 * referrer found (for "kept because …" and delete's refusal). Depth-first with an explicit
 * stack: no recursion limit on hostile graphs, each digest visited once.
 */
export function mark(root: string, roots: Roots): Map<string, Referrer> {
  const marked = new Map<string, Referrer>();
  const stack: Array<{ digest: string; mediaType?: string; referrer: Referrer }> = [];
  for (const [digest, r] of roots.digests) stack.push({ digest, mediaType: r.mediaType, referrer: r.referrer });
  while (stack.length) {
    const { digest, mediaType, referrer } = stack.pop()!;
    if (marked.has(digest)) continue;
    marked.set(digest, referrer);
    for (const k of children(root, digest, mediaType)) {
      if (!marked.has(k.digest)) stack.push({ digest: k.digest, mediaType: k.mediaType, referrer: { kind: 'blob', name: digest, root: referrer.root ?? referrer } });
    }
    for (const d of labelRefs(roots.labels.get(digest))) {
      if (!marked.has(d)) stack.push({ digest: d, referrer: { kind: 'label-ref', name: digest, root: referrer.root ?? referrer } });
    }
  }
  return marked;
}

/** Human form of a referrer, e.g. `image docker.io/library/redis:7`. */
export function describeReferrer(r: Referrer): string {
  switch (r.kind) {
    case 'image':
      return `image ${JSON.stringify(r.name)}`;
    case 'label-root':
      return `its label ${GC_ROOT}`;
    case 'lease':
      return `lease ${JSON.stringify(r.name)}`;
    case 'ingest':
      return `ingest ${JSON.stringify(r.name)} in progress`;
    case 'blob':
      return `${r.name}${r.root ? ` (kept by ${describeReferrer(r.root)})` : ''}`;
    case 'label-ref':
      return `a ${GC_REF_CONTENT} label of ${r.name}${r.root ? ` (kept by ${describeReferrer(r.root)})` : ''}`;
  }
}
