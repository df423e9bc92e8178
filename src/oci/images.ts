/**
 * Image names in the layout's index.json: one entry per name, carrying
 * `org.opencontainers.image.ref.name` = the full reference (`host/repo:tag` or
 * `host/repo@digest`, the form `skopeo copy … oci:ROOT:NAME` writes and
 * `skopeo inspect oci:ROOT:NAME` / `umoci stat --image ROOT:NAME` look up) and
 * `io.containerd.image.name` (same value, containerd's convention).
 *
 * A Docker schema2 image keeps its own entry (io.containerd.image.name only, so its digest
 * stays the registry's) and gets a second, OCI-typed entry for its converted twin
 * (convert.ts) carrying ref.name and VIEW_OF — OCI tools resolve the name through it.
 */
import { readIndex, updateIndex, type IndexEntry } from './index-file.js';

export const REF_NAME = 'org.opencontainers.image.ref.name';
export const CONTAINERD_NAME = 'io.containerd.image.name';
export const VIEW_OF = 'dev.containerkit.image.view-of';

export interface ImageRecord {
  name: string;
  mediaType: string;
  digest: string;
  size: number;
  platform?: IndexEntry['platform'];
  /** OCI twin of a Docker manifest/list (recorded, never listed). */
  view?: { mediaType: string; digest: string; size: number };
}

export function nameOf(e: IndexEntry): string | undefined {
  return e.annotations?.[CONTAINERD_NAME] ?? e.annotations?.[REF_NAME];
}

function owns(e: IndexEntry, name: string): boolean {
  return e.annotations?.[CONTAINERD_NAME] === name || e.annotations?.[REF_NAME] === name;
}

/** Points `name` at a manifest (or index), replacing what the name pointed at before. */
export async function recordImage(root: string, r: ImageRecord): Promise<void> {
  const platform = r.platform ? { platform: r.platform } : {};
  const entries: IndexEntry[] = [
    {
      mediaType: r.mediaType,
      digest: r.digest,
      size: r.size,
      ...platform,
      annotations: r.view ? { [CONTAINERD_NAME]: r.name } : { [REF_NAME]: r.name, [CONTAINERD_NAME]: r.name },
    },
  ];
  if (r.view) entries.push({ ...r.view, ...platform, annotations: { [REF_NAME]: r.name, [VIEW_OF]: r.digest } });
  await updateIndex(root, (index) => ({ ...index, manifests: [...index.manifests.filter((e) => !owns(e, r.name)), ...entries] }));
}

/** Named entries of index.json, sorted by name (unnamed entries are skipped). */
export async function listImages(root: string): Promise<ImageRecord[]> {
  const index = await readIndex(root);
  const out: ImageRecord[] = [];
  for (const e of index.manifests) {
    const name = nameOf(e);
    if (name === undefined || e.annotations?.[VIEW_OF]) continue;
    out.push({ name, mediaType: e.mediaType, digest: e.digest, size: e.size, ...(e.platform ? { platform: e.platform } : {}) });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
