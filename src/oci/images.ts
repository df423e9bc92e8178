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
import { checkEntries, CONTAINERD_NAME, entryName, REF_NAME, type BadEntry } from './index-entry.js';
import { readIndex, updateIndex, type IndexEntry, type IndexLockOptions } from './index-file.js';

export { CONTAINERD_NAME, REF_NAME };
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

/**
 * Points `name` at a manifest (or index), replacing the entries that carried the name
 * before. Every other entry is kept exactly as it was, including bad ones (another tool's
 * data is not ours to drop); those are returned so the caller can warn.
 */
export async function recordImage(root: string, r: ImageRecord, lock?: IndexLockOptions): Promise<BadEntry[]> {
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
  const next = await updateIndex(root, (index) => ({ ...index, manifests: [...index.manifests.filter((e) => !owns(e, r.name)), ...entries] }), lock);
  return checkEntries(next.manifests).bad;
}

/**
 * Removes names (and the OCI views recorded with them) from index.json; their blobs stay
 * until the collector finds them unreferenced. Returns the names that were there.
 */
export async function removeImages(root: string, names: string[], lock?: IndexLockOptions): Promise<{ removed: string[]; bad: BadEntry[] }> {
  let removed: string[] = [];
  const next = await updateIndex(
    root,
    (index) => {
      removed = names.filter((n) => index.manifests.some((e) => owns(e, n)));
      return { ...index, manifests: index.manifests.filter((e) => !names.some((n) => owns(e, n))) };
    },
    lock,
  );
  return { removed, bad: checkEntries(next.manifests).bad };
}

function owns(e: unknown, name: string): boolean {
  const a = (e as IndexEntry | null)?.annotations;
  return typeof a === 'object' && a !== null && (a[CONTAINERD_NAME] === name || a[REF_NAME] === name);
}

/** Named image entries of index.json sorted by name, and the bad entries that were skipped. */
export async function listImages(root: string): Promise<{ images: ImageRecord[]; bad: BadEntry[] }> {
  const { good, bad } = checkEntries((await readIndex(root)).manifests);
  const images: ImageRecord[] = [];
  for (const e of good) {
    const name = entryName(e);
    if (name === undefined || e.annotations?.[VIEW_OF]) continue;
    images.push({ name, mediaType: e.mediaType, digest: e.digest, size: e.size, ...(e.platform ? { platform: e.platform } : {}) });
  }
  return { images: images.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)), bad };
}
