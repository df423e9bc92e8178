/**
 * OCI descriptors and the manifest shapes pull walks. Parsing validates every field that
 * later becomes a path, a URL or a size check, so a hostile manifest fails here with
 * InvalidArgument/DataLoss instead of deeper in the transfer.
 */
import { dataLoss } from '../errors.js';
import { isDigest } from '../digest.js';

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
  urls?: string[];
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
}

function invalid(what: string, why: string, digest?: string) {
  return dataLoss('ERR_BAD_MANIFEST', `${what}${digest ? ` ${digest}` : ''}: ${why}`, { digest });
}

export function checkDescriptor(d: unknown, where: string, owner?: string): Descriptor {
  const x = d as Descriptor;
  if (typeof x !== 'object' || x === null) throw invalid(where, 'descriptor is not an object', owner);
  if (!isDigest(x.digest)) throw invalid(where, `bad digest ${JSON.stringify(x.digest)}`, owner);
  if (!Number.isSafeInteger(x.size) || x.size < 0) throw invalid(where, `bad size ${JSON.stringify(x.size)}`, owner);
  if (typeof x.mediaType !== 'string' || x.mediaType.length === 0) throw invalid(where, 'missing mediaType', owner);
  return x;
}

function parseJson(bytes: Buffer, digest: string): Record<string, unknown> {
  try {
    const v = JSON.parse(bytes.toString('utf8'));
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
    return v as Record<string, unknown>;
  } catch (err) {
    throw invalid('manifest', `not JSON: ${(err as Error).message}`, digest);
  }
}

export function parseManifest(bytes: Buffer, digest: string): ImageManifest {
  const m = parseJson(bytes, digest);
  if (m.schemaVersion !== 2) throw invalid('manifest', `unsupported schemaVersion ${JSON.stringify(m.schemaVersion)}`, digest);
  if (!Array.isArray(m.layers)) throw invalid('manifest', 'no layers array', digest);
  return {
    schemaVersion: 2,
    mediaType: typeof m.mediaType === 'string' ? m.mediaType : undefined,
    config: checkDescriptor(m.config, 'manifest config', digest),
    layers: m.layers.map((l, i) => checkDescriptor(l, `manifest layer ${i}`, digest)),
  };
}

export function parseIndex(bytes: Buffer, digest: string): ImageIndex {
  const m = parseJson(bytes, digest);
  if (m.schemaVersion !== 2) throw invalid('index', `unsupported schemaVersion ${JSON.stringify(m.schemaVersion)}`, digest);
  if (!Array.isArray(m.manifests)) throw invalid('index', 'no manifests array', digest);
  return {
    schemaVersion: 2,
    mediaType: typeof m.mediaType === 'string' ? m.mediaType : undefined,
    manifests: m.manifests.map((d, i) => checkDescriptor(d, `index entry ${i}`, digest)),
  };
}
