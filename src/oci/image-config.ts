/**
 * The parts of an OCI image configuration that unpack and bundle use: the layers' diffIDs
 * (rootfs.diff_ids) and the runtime defaults (config: Entrypoint, Cmd, Env, WorkingDir,
 * User). Docker's config has the same shape. Validated here so a hostile config fails with
 * DataLoss before anything is applied.
 */
import { createHash } from 'node:crypto';
import { dataLoss } from '../errors.js';
import { isDigest } from '../digest.js';

export interface RuntimeConfig {
  Entrypoint?: string[];
  Cmd?: string[];
  Env?: string[];
  WorkingDir?: string;
  User?: string;
  Labels?: Record<string, string>;
}

export interface ImageConfig {
  os?: string;
  architecture?: string;
  diffIds: string[];
  config: RuntimeConfig;
}

const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');

export function parseImageConfig(bytes: Buffer, digest: string): ImageConfig {
  const bad = (why: string) => dataLoss('ERR_BAD_IMAGE_CONFIG', `image config ${digest}: ${why}`, { digest });
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  } catch (err) {
    throw bad(`not JSON: ${(err as Error).message}`);
  }
  if (typeof v !== 'object' || v === null) throw bad('not an object');
  const rootfs = v.rootfs as { type?: unknown; diff_ids?: unknown } | undefined;
  if (!rootfs || rootfs.type !== 'layers' || !strings(rootfs.diff_ids) || !rootfs.diff_ids.every(isDigest)) {
    throw bad('rootfs must be {type: "layers", diff_ids: [digest…]}');
  }
  const c = (v.config ?? {}) as Record<string, unknown>;
  if (typeof c !== 'object' || c === null) throw bad('config is not an object');
  const config: RuntimeConfig = {};
  for (const k of ['Entrypoint', 'Cmd', 'Env'] as const) {
    if (c[k] === undefined || c[k] === null) continue;
    if (!strings(c[k])) throw bad(`config.${k} must be an array of strings`);
    config[k] = c[k] as string[];
  }
  for (const k of ['WorkingDir', 'User'] as const) {
    if (c[k] === undefined || c[k] === null || c[k] === '') continue;
    if (typeof c[k] !== 'string') throw bad(`config.${k} must be a string`);
    config[k] = c[k] as string;
  }
  if (c.Labels && typeof c.Labels === 'object') config.Labels = c.Labels as Record<string, string>;
  return {
    ...(typeof v.os === 'string' ? { os: v.os } : {}),
    ...(typeof v.architecture === 'string' ? { architecture: v.architecture } : {}),
    diffIds: rootfs.diff_ids,
    config,
  };
}

/**
 * Chain IDs (OCI image spec, "Layer ChainID"): the identity of a stack of layers, so
 * images that share their lower layers share the snapshots of them.
 *   ChainID(L0) = DiffID(L0);  ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln))
 */
export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) {
    const prev = out.at(-1);
    out.push(prev === undefined ? d : `sha256:${createHash('sha256').update(`${prev} ${d}`).digest('hex')}`);
  }
  return out;
}
