/**
 * containerd images as entries of the layout's index.json (src/oci/index-file.ts), the same
 * names `dist pull`, `dist images`, skopeo and umoci use:
 *   name            io.containerd.image.name (and org.opencontainers.image.ref.name for
 *                   OCI types; a Docker manifest keeps only containerd's, as `dist pull`
 *                   records it, so OCI tools never resolve a name to a Docker document)
 *   target          the entry's mediaType, digest, size and its other annotations
 *   labels, times   private annotations dev.containerkit.image.{labels,created,updated}
 * An OCI view recorded by `dist pull` for a Docker image is not an image of its own: never
 * listed, removed with its name.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseDigest } from '../../digest.js';
import { invalidArgument } from '../../errors.js';
import { CONTAINERD_NAME, REF_NAME, VIEW_OF } from '../../oci/images.js';
import { checkEntries, entryName } from '../../oci/index-entry.js';
import type { IndexEntry } from '../../oci/index-file.js';
import { INDEX_FILE } from '../../oci/layout.js';
import { isManifestType } from '../../remote/media-types.js';
import type { Labels } from '../messages.js';

export const LABELS = 'dev.containerkit.image.labels';
export const CREATED = 'dev.containerkit.image.created';
export const UPDATED = 'dev.containerkit.image.updated';
const PRIVATE = new Set([CONTAINERD_NAME, REF_NAME, LABELS, CREATED, UPDATED, VIEW_OF]);

export interface Image {
  name: string;
  labels: Labels;
  target: { mediaType: string; digest: string; size: number; annotations: Labels };
  createdAt: Date;
  updatedAt: Date;
}

const isDockerType = (t: string) => t.startsWith('application/vnd.docker.');

function parseLabels(v: string | undefined): Labels {
  if (!v) return {};
  try {
    const o = JSON.parse(v) as unknown;
    if (typeof o !== 'object' || o === null || Array.isArray(o)) return {};
    return Object.fromEntries(Object.entries(o).filter(([, x]) => typeof x === 'string')) as Labels;
  } catch {
    return {};
  }
}

function time(v: string | undefined, fallback: Date): Date {
  const t = v ? Date.parse(v) : NaN;
  return Number.isNaN(t) ? fallback : new Date(t);
}

/** The time to show for entries written by tools that keep none (index.json's mtime). */
export async function indexTime(root: string): Promise<Date> {
  return stat(join(root, INDEX_FILE)).then(
    (s) => s.mtime,
    () => new Date(0),
  );
}

export function fromEntry(e: IndexEntry, fallback: Date): Image | undefined {
  const name = entryName(e);
  if (name === undefined || e.annotations?.[VIEW_OF]) return undefined;
  const a = e.annotations ?? {};
  const annotations = Object.fromEntries(Object.entries(a).filter(([k]) => !PRIVATE.has(k)));
  return {
    name,
    labels: parseLabels(a[LABELS]),
    target: { mediaType: e.mediaType, digest: e.digest, size: e.size, annotations },
    createdAt: time(a[CREATED], fallback),
    updatedAt: time(a[UPDATED], fallback),
  };
}

export function toEntry(img: Image, platform?: IndexEntry['platform']): IndexEntry {
  const names: Labels = isDockerType(img.target.mediaType) ? { [CONTAINERD_NAME]: img.name } : { [REF_NAME]: img.name, [CONTAINERD_NAME]: img.name };
  return {
    mediaType: img.target.mediaType,
    digest: img.target.digest,
    size: img.target.size,
    ...(platform ? { platform } : {}),
    annotations: {
      ...img.target.annotations,
      ...names,
      ...(Object.keys(img.labels).length ? { [LABELS]: JSON.stringify(img.labels) } : {}),
      [CREATED]: img.createdAt.toISOString(),
      [UPDATED]: img.updatedAt.toISOString(),
    },
  };
}

/** Every named image of `manifests` (valid entries only; views skipped). */
export function imagesOf(manifests: readonly unknown[], fallback: Date): Array<{ image: Image; entry: IndexEntry }> {
  const out: Array<{ image: Image; entry: IndexEntry }> = [];
  for (const entry of checkEntries(manifests).good) {
    const image = fromEntry(entry, fallback);
    if (image) out.push({ image, entry });
  }
  return out;
}

/** True when `e` carries `name` (an image's own entry, or a view recorded with it). */
export function owns(e: unknown, name: string): boolean {
  const a = (e as IndexEntry | null)?.annotations;
  return typeof a === 'object' && a !== null && (a[CONTAINERD_NAME] === name || a[REF_NAME] === name);
}

/** containerd's checks, plus index.json's rule that a name points at a manifest or index. */
export function validateImage(img: Image): Image {
  if (!img.name) throw invalidArgument('ERR_INVALID_IMAGE', 'image name must not be empty', {});
  if (Buffer.byteLength(img.name) > 4096) throw invalidArgument('ERR_INVALID_IMAGE', 'image name is longer than 4096 bytes', {});
  parseDigest(img.target.digest);
  if (!img.target.mediaType) throw invalidArgument('ERR_INVALID_IMAGE', `image ${JSON.stringify(img.name)}: target media type must be set`, {});
  if (!isManifestType(img.target.mediaType)) {
    throw invalidArgument('ERR_INVALID_IMAGE', `image ${JSON.stringify(img.name)}: target media type ${JSON.stringify(img.target.mediaType)} is not an image manifest or index (index.json names only those)`, {});
  }
  if (!Number.isSafeInteger(img.target.size) || img.target.size < 0) throw invalidArgument('ERR_INVALID_IMAGE', `image ${JSON.stringify(img.name)}: bad target size ${img.target.size}`, {});
  for (const [k, v] of Object.entries(img.labels)) {
    if (!k || Buffer.byteLength(k) + Buffer.byteLength(v) > 4096) throw invalidArgument('ERR_INVALID_LABELS', `image ${JSON.stringify(img.name)}: label ${JSON.stringify(k.slice(0, 64))} is empty or over 4096 bytes`, {});
  }
  return img;
}
