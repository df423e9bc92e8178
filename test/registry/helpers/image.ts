/**
 * Test images built from generated tarballs: layers, config, manifest (OCI or Docker
 * schema2) and indexes, as re-iterable blobs with known digest and size. Big layers are
 * hashed by streaming them once; nothing large is kept in memory.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { tarChunks, tarSize, type TarFile } from './tar.js';

export const MT = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

export interface Blob {
  mediaType: string;
  digest: string;
  size: number;
  /** Uncompressed digest (rootfs diff_id) for layers. */
  diffId?: string;
  chunks(): AsyncIterable<Buffer>;
}

export type Format = 'oci' | 'docker';

export function bytesBlob(mediaType: string, bytes: Buffer): Blob & { bytes: Buffer } {
  return {
    mediaType,
    bytes,
    digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
    size: bytes.length,
    async *chunks() {
      yield bytes;
    },
  };
}

/** A layer: small ones are gzipped in memory; big ones (> 8 MiB) stream as plain tar. */
export async function layer(files: TarFile[], format: Format = 'oci'): Promise<Blob> {
  const size = tarSize(files);
  if (size <= 8 << 20) {
    const parts: Buffer[] = [];
    for await (const c of tarChunks(files)) parts.push(c);
    const tar = Buffer.concat(parts);
    const diffId = `sha256:${createHash('sha256').update(tar).digest('hex')}`;
    return { ...bytesBlob(format === 'oci' ? MT.ociLayerGzip : MT.dockerLayerGzip, gzipSync(tar, { level: 1 })), diffId };
  }
  const h = createHash('sha256');
  for await (const c of tarChunks(files)) h.update(c);
  const digest = `sha256:${h.digest('hex')}`;
  return { mediaType: MT.ociLayer, digest, diffId: digest, size, chunks: () => tarChunks(files) };
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface Image {
  format: Format;
  config: Blob & { bytes: Buffer };
  layers: Blob[];
  manifest: Blob & { bytes: Buffer };
  platform: Platform;
}

const descriptor = (b: Blob) => ({ mediaType: b.mediaType, digest: b.digest, size: b.size });

export function image(layers: Blob[], o: { format?: Format; platform?: Platform; label?: string } = {}): Image {
  const format = o.format ?? 'oci';
  const platform = o.platform ?? { os: 'linux', architecture: 'amd64' };
  const config = bytesBlob(
    format === 'oci' ? MT.ociConfig : MT.dockerConfig,
    Buffer.from(
      JSON.stringify({
        architecture: platform.architecture,
        os: platform.os,
        ...(platform.variant ? { variant: platform.variant } : {}),
        created: '2024-01-01T00:00:00Z',
        config: { Labels: { 'test.label': o.label ?? 'containerkit' } },
        rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId ?? l.digest) },
        history: layers.map((_, i) => ({ created: '2024-01-01T00:00:00Z', created_by: `layer ${i}` })),
      }),
    ),
  );
  const manifest = bytesBlob(
    format === 'oci' ? MT.ociManifest : MT.dockerManifest,
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: format === 'oci' ? MT.ociManifest : MT.dockerManifest,
        config: descriptor(config),
        layers: layers.map(descriptor),
      }),
    ),
  );
  return { format, config, layers, manifest, platform };
}

export function index(images: Image[], format: Format = 'oci'): Blob & { bytes: Buffer } {
  const mediaType = format === 'oci' ? MT.ociIndex : MT.dockerList;
  return bytesBlob(
    mediaType,
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType,
        manifests: images.map((i) => ({ ...descriptor(i.manifest), platform: i.platform })),
      }),
    ),
  );
}

/** Sum of the distinct blobs an image pull moves (config + unique layers + manifest). */
export function imageBytes(img: Image): number {
  const seen = new Map<string, number>();
  for (const b of [img.config, ...img.layers, img.manifest]) seen.set(b.digest, b.size);
  return [...seen.values()].reduce((a, b) => a + b, 0);
}
