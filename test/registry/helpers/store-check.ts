/**
 * Assertions on a store root after a pull, independent of the store implementation:
 * every committed blob's bytes hash to its name; index.json parses.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export function blobFiles(root: string): string[] {
  const dir = join(root, 'blobs', 'sha256');
  return existsSync(dir) ? readdirSync(dir).map((h) => `sha256:${h}`) : [];
}

export function hasBlob(root: string, digest: string): boolean {
  return existsSync(join(root, 'blobs', ...digest.split(':')));
}

export async function verifyAllBlobs(root: string): Promise<{ count: number; bad: string[] }> {
  const bad: string[] = [];
  const all = blobFiles(root);
  for (const d of all) {
    const h = createHash('sha256');
    for await (const c of createReadStream(join(root, 'blobs', 'sha256', d.slice(7)))) h.update(c as Buffer);
    if (`sha256:${h.digest('hex')}` !== d) bad.push(d);
  }
  return { count: all.length, bad };
}

export interface IndexJson {
  schemaVersion: number;
  manifests: Array<{ mediaType: string; digest: string; size: number; platform?: { os: string; architecture: string }; annotations?: Record<string, string> }>;
}

export function readIndexJson(root: string): IndexJson {
  return JSON.parse(readFileSync(join(root, 'index.json'), 'utf8')) as IndexJson;
}

export function refNames(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  // Null-safe: tests plant bad entries (null, numbers) in index.json on purpose.
  for (const m of readIndexJson(root).manifests) {
    const n = m?.annotations?.['org.opencontainers.image.ref.name'];
    if (n) out[n] = m.digest;
  }
  return out;
}
