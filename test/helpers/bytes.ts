/** Deterministic test content and reference digests (computed with node:crypto, not the store). */
import { createHash } from 'node:crypto';
// Plain JS, shared with the crash soak script and the multi-process test children.
import { seededBytes } from '../../scripts/seeded-bytes.mjs';

let seedCounter = 1;

/**
 * `size` pseudo-random bytes. Each call without a seed gets a new seed, so two calls never
 * return the same content (like containerd's createContent); a given seed always yields the
 * same bytes.
 */
export function randomBytes(size: number, seed = seedCounter++): Buffer {
  return seededBytes(seed, size);
}

export type RefAlgorithm = 'sha256' | 'sha512';

export function digestOf(data: Uint8Array | string, alg: RefAlgorithm = 'sha256'): string {
  return `${alg}:${createHash(alg).update(data).digest('hex')}`;
}

export const EMPTY_SHA256 = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** A valid, well-formed digest of content that is not in any store. */
export function absentDigest(alg: RefAlgorithm = 'sha256'): string {
  return digestOf(`absent-${Math.random()}-${Date.now()}`, alg);
}

/** Runs `fn` over `items` with at most `limit` calls in flight. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  async function lane(): Promise<void> {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!, i);
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}

export async function readAll(stream: AsyncIterable<Uint8Array | string>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : Buffer.from(c.buffer, c.byteOffset, c.byteLength));
  return Buffer.concat(chunks);
}
