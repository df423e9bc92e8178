/**
 * OCI view of Docker schema2 images. Readers of an OCI layout (skopeo 1.9's `oci:`
 * transport, umoci) only resolve names whose index.json entry is an OCI manifest or index,
 * so a Docker manifest (or manifest list) gets a converted twin: the same JSON with OCI
 * media types, pointing at the very same config and layer blobs (bytes unchanged, so their
 * digests are unchanged). The original stays the image's identity (its digest is what the
 * registry and `dist images` report); the twin only exists for OCI tools.
 */
import { DOCKER_CONFIG, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_CONFIG, OCI_INDEX, OCI_MANIFEST } from '../remote/media-types.js';

const LAYER_TYPES: Record<string, string> = {
  'application/vnd.docker.image.rootfs.diff.tar.gzip': 'application/vnd.oci.image.layer.v1.tar+gzip',
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip': 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.docker.image.rootfs.diff.tar': 'application/vnd.oci.image.layer.v1.tar',
  [DOCKER_CONFIG]: OCI_CONFIG,
};

interface Desc {
  mediaType: string;
  digest: string;
  size: number;
  [k: string]: unknown;
}

/** True for media types that get an OCI twin. */
export function needsOciView(mediaType: string): boolean {
  return mediaType === DOCKER_MANIFEST || mediaType === DOCKER_MANIFEST_LIST;
}

/** The OCI form of a Docker schema2 manifest. */
export function ociManifest(bytes: Buffer): Buffer {
  const m = JSON.parse(bytes.toString('utf8')) as { config: Desc; layers: Desc[] } & Record<string, unknown>;
  const fix = (d: Desc): Desc => ({ ...d, mediaType: LAYER_TYPES[d.mediaType] ?? d.mediaType });
  return Buffer.from(JSON.stringify({ ...m, mediaType: OCI_MANIFEST, config: fix(m.config), layers: m.layers.map(fix) }));
}

/**
 * The OCI form of a Docker manifest list, given the converted twins of its children
 * (children without a twin keep their descriptor).
 */
export function ociIndex(bytes: Buffer, twins: ReadonlyMap<string, { digest: string; size: number }>): Buffer {
  const m = JSON.parse(bytes.toString('utf8')) as { manifests: Desc[] } & Record<string, unknown>;
  const manifests = m.manifests.map((d) => {
    const t = twins.get(d.digest);
    return t ? { ...d, mediaType: OCI_MANIFEST, digest: t.digest, size: t.size } : d;
  });
  return Buffer.from(JSON.stringify({ ...m, mediaType: OCI_INDEX, manifests }));
}
