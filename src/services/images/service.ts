/**
 * containerd.services.images.v1.Images over index.json (./records.ts): Get, List (filters:
 * name, target.digest, target.mediatype, labels.K, annotations.K), Create (AlreadyExists
 * when the name exists), Update (field paths: labels, labels.K, target, annotations,
 * annotations.K; none: labels and target), Delete (NotFound when absent; `sync` collects
 * garbage before answering). Each change is one locked read-modify-write of index.json, so
 * servers, `dist pull` and other tools on the root never lose each other's names.
 */
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { alreadyExists, invalidArgument, notFound } from '../../errors.js';
import type { LocalStore } from '../../local/store.js';
import { collectGarbage } from '../../metadata/gc.js';
import { readIndex, updateIndex, type IndexEntry } from '../../oci/index-file.js';
import { unary, type MetadataCtor } from '../call.js';
import { fromTimestamp, toTimestamp } from '../convert.js';
import { mapField, parseFilters } from '../filters.js';
import type { FieldMask, WireImage } from '../messages.js';
import { imagesOf, indexTime, owns, toEntry, validateImage, type Image } from './records.js';

function toWire(i: Image): WireImage {
  return { name: i.name, labels: i.labels, target: { ...i.target }, createdAt: toTimestamp(i.createdAt), updatedAt: toTimestamp(i.updatedAt) };
}

function fromWire(w: WireImage | undefined, now: Date): Image {
  const t = w?.target;
  return {
    name: w?.name ?? '',
    labels: { ...(w?.labels ?? {}) },
    target: { mediaType: t?.mediaType ?? '', digest: t?.digest ?? '', size: t?.size ?? 0, annotations: { ...(t?.annotations ?? {}) } },
    createdAt: w?.createdAt ? fromTimestamp(w.createdAt) : now,
    updatedAt: now,
  };
}

const missing = (name: string) => notFound('ERR_IMAGE_NOT_FOUND', `image ${JSON.stringify(name)}: not found`, { actual: name });

/** containerd's field-path update of an image. */
function applyUpdate(cur: Image, next: Image, paths: readonly string[]): Image {
  if (paths.length === 0) return { ...cur, labels: next.labels, target: next.target };
  const out: Image = { ...cur, labels: { ...cur.labels }, target: { ...cur.target, annotations: { ...cur.target.annotations } } };
  for (const p of paths) {
    if (p === 'labels') out.labels = next.labels;
    else if (p.startsWith('labels.')) {
      const k = p.slice('labels.'.length);
      if (next.labels[k]) out.labels[k] = next.labels[k]!;
      else delete out.labels[k];
    } else if (p === 'target') out.target = next.target;
    else if (p === 'annotations') out.target.annotations = next.target.annotations;
    else if (p.startsWith('annotations.')) {
      const k = p.slice('annotations.'.length);
      if (next.target.annotations[k] !== undefined) out.target.annotations[k] = next.target.annotations[k]!;
      else delete out.target.annotations[k];
    } else throw invalidArgument('ERR_INVALID_FIELDPATH', `cannot update ${JSON.stringify(p)} field on image ${JSON.stringify(cur.name)}`, { actual: p });
  }
  return out;
}

export function imagesService(store: LocalStore, Md: MetadataCtor): UntypedServiceImplementation {
  const root = store.root;
  const all = async () => imagesOf((await readIndex(root)).manifests, await indexTime(root));
  return {
    Get: unary(Md, 'Images.Get', async (req: { name?: string }) => {
      const name = req.name ?? '';
      const found = (await all()).find((x) => x.image.name === name);
      if (!found) throw missing(name);
      return { image: toWire(found.image) };
    }),

    List: unary(Md, 'Images.List', async (req: { filters?: string[] }) => {
      const match = parseFilters(req.filters);
      const images = (await all())
        .map((x) => x.image)
        .filter((i) =>
          match((p) => {
            if (p[0] === 'name' && p.length === 1) return i.name;
            if (p[0] === 'target' && p.length === 2) return p[1] === 'digest' ? i.target.digest : p[1] === 'mediatype' ? i.target.mediaType : undefined;
            if (p[0] === 'labels') return mapField(p.slice(1), i.labels);
            if (p[0] === 'annotations') return mapField(p.slice(1), i.target.annotations);
            return undefined;
          }),
        );
      return { images: images.map(toWire) };
    }),

    Create: unary(Md, 'Images.Create', async (req: { image?: WireImage }) => {
      const now = new Date();
      const image = validateImage({ ...fromWire(req.image, now), createdAt: now });
      await updateIndex(root, (index) => {
        if (index.manifests.some((e) => owns(e, image.name))) throw alreadyExists('ERR_IMAGE_EXISTS', `image ${JSON.stringify(image.name)}: already exists`, { actual: image.name });
        return { ...index, manifests: [...index.manifests, toEntry(image)] };
      });
      return { image: toWire(image) };
    }),

    Update: unary(Md, 'Images.Update', async (req: { image?: WireImage; updateMask?: FieldMask }) => {
      const now = new Date();
      const next = fromWire(req.image, now);
      if (!next.name) throw invalidArgument('ERR_INVALID_IMAGE', 'image name must not be empty', {});
      const fallback = await indexTime(root);
      let updated: Image | undefined;
      await updateIndex(root, (index) => {
        const cur = imagesOf(index.manifests, fallback).find((x) => x.image.name === next.name);
        if (!cur) throw missing(next.name);
        updated = validateImage({ ...applyUpdate(cur.image, next, req.updateMask?.paths ?? []), updatedAt: now });
        const platform = (cur.entry as IndexEntry).platform;
        return { ...index, manifests: [...index.manifests.filter((e) => !owns(e, next.name)), toEntry(updated, updated.target.digest === cur.entry.digest ? platform : undefined)] };
      });
      return { image: toWire(updated!) };
    }),

    Delete: unary(Md, 'Images.Delete', async (req: { name?: string; sync?: boolean }) => {
      const name = req.name ?? '';
      await updateIndex(root, (index) => {
        if (!index.manifests.some((e) => owns(e, name))) throw missing(name);
        return { ...index, manifests: index.manifests.filter((e) => !owns(e, name)) };
      });
      if (req.sync) await collectGarbage(store);
      return {};
    }),
  };
}
