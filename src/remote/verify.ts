/**
 * Streaming digest check for bytes that do not go through the store (fetch to stdout,
 * manifests held in memory). sha256/sha512 use node:crypto; blake3 a private hash-wasm
 * instance (the shared per-thread hashers must not interleave between streams).
 */
import { createHash } from 'node:crypto';
import { createBLAKE3 } from 'hash-wasm';
import { dataLoss } from '../errors.js';
import { parseDigest } from '../digest.js';

export interface Verifier {
  update(chunk: Uint8Array): void;
  /** Throws DataLoss naming expected/actual when the bytes do not match. */
  check(what: string): void;
  readonly size: number;
}

export async function verifier(expected: string, expectedSize?: number): Promise<Verifier> {
  const { algorithm, hex } = parseDigest(expected);
  let size = 0;
  let update: (c: Uint8Array) => void;
  let final: () => string;
  if (algorithm === 'blake3') {
    const h = await createBLAKE3();
    h.init();
    update = (c) => h.update(c);
    final = () => h.digest('hex');
  } else {
    const h = createHash(algorithm);
    update = (c) => h.update(c);
    final = () => h.digest('hex');
  }
  return {
    get size() {
      return size;
    },
    update(c) {
      size += c.length;
      update(c);
    },
    check(what) {
      if (expectedSize !== undefined && size !== expectedSize) {
        throw dataLoss('ERR_SIZE_MISMATCH', `${what} ${expected}: size mismatch: expected ${expectedSize} bytes, got ${size}`, {
          digest: expected, expected: expectedSize, actual: size,
        });
      }
      const actual = final();
      if (actual !== hex) {
        throw dataLoss('ERR_DIGEST_MISMATCH', `${what} ${expected}: digest mismatch: got ${algorithm}:${actual}`, {
          digest: expected, expected, actual: `${algorithm}:${actual}`,
        });
      }
    },
  };
}

/** sha256 digest of a buffer (manifests fetched by tag are named by it). */
export function sha256Of(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}
