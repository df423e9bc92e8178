/**
 * Media types a registry may answer with, and the Accept list sent with every manifest
 * request. The full list always goes out: a registry that gets only some types may
 * down-convert (e.g. Docker schema2 → schema1) or 404 on an index.
 */
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';

export const MANIFEST_TYPES: readonly string[] = [OCI_MANIFEST, DOCKER_MANIFEST, OCI_INDEX, DOCKER_MANIFEST_LIST];

export function isIndex(mediaType: string | undefined): boolean {
  return mediaType === OCI_INDEX || mediaType === DOCKER_MANIFEST_LIST;
}

export function isManifest(mediaType: string | undefined): boolean {
  return mediaType === OCI_MANIFEST || mediaType === DOCKER_MANIFEST;
}

export function isManifestType(mediaType: string | undefined): boolean {
  return isIndex(mediaType) || isManifest(mediaType);
}

/** Accept header: caller hints first, then every manifest type (deduplicated). */
export function acceptHeader(hints: readonly string[] = []): string {
  return [...new Set([...hints, ...MANIFEST_TYPES])].join(', ');
}

/** Content-Type without parameters (`; charset=utf-8`). */
export function bareType(contentType: string | undefined): string | undefined {
  const t = contentType?.split(';')[0]?.trim();
  return t ? t : undefined;
}
