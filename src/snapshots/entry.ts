/**
 * Library entry points of the snapshot and layer-apply stacks, loaded on first use: the
 * package root stays as cheap to import as the content store alone (~40 ms of tar, zstd and
 * snapshot modules are paid only by callers that unpack).
 */
import type { ApplyOptions, ApplyResult } from '../archive/apply.js';
import type { MetadataOptions } from './metadata.js';
import type { Snapshotter } from './types.js';

export async function openSnapshotter(root: string, driver?: 'naive' | 'overlay', options?: MetadataOptions): Promise<Snapshotter> {
  return (await import('./open.js')).openSnapshotter(root, driver, options);
}

export async function applyLayer(dir: string, source: AsyncIterable<Uint8Array>, options?: ApplyOptions): Promise<ApplyResult> {
  return (await import('../archive/apply.js')).applyLayer(dir, source, options);
}
