import { invalidArgument } from './errors.js';

/**
 * Digests are `<alg>:<hex>`, lower-case hex of the algorithm's exact length. Every path
 * the store builds from a digest goes through parseDigest first, so a digest can never
 * smuggle `/`, `..` or anything but [0-9a-f] into a path.
 */
export const ALGORITHMS = Object.freeze({ sha256: 64, sha512: 128, blake3: 64 } as const);
export type Algorithm = keyof typeof ALGORITHMS;
export const CANONICAL: Algorithm = 'sha256';

export interface ParsedDigest {
  algorithm: Algorithm;
  hex: string;
  digest: string;
}

const HEX = /^[0-9a-f]+$/;

export function isAlgorithm(alg: unknown): alg is Algorithm {
  return typeof alg === 'string' && Object.prototype.hasOwnProperty.call(ALGORITHMS, alg);
}

export function parseAlgorithm(alg: unknown): Algorithm {
  if (!isAlgorithm(alg)) {
    throw invalidArgument('ERR_INVALID_ALGORITHM', `unsupported digest algorithm ${JSON.stringify(alg)} (expected one of ${Object.keys(ALGORITHMS).join(', ')})`, {
      actual: String(alg),
    });
  }
  return alg;
}

export function parseDigest(digest: unknown): ParsedDigest {
  if (typeof digest !== 'string' || digest.length === 0) {
    throw invalidArgument('ERR_INVALID_DIGEST', `invalid digest ${JSON.stringify(digest)}: expected <algorithm>:<hex>`, {
      digest: String(digest),
    });
  }
  const colon = digest.indexOf(':');
  if (colon <= 0) {
    throw invalidArgument('ERR_INVALID_DIGEST', `invalid digest ${JSON.stringify(digest)}: missing algorithm prefix (sha256:…)`, { digest });
  }
  const alg = digest.slice(0, colon);
  const hex = digest.slice(colon + 1);
  if (!isAlgorithm(alg)) {
    throw invalidArgument('ERR_INVALID_DIGEST', `invalid digest ${JSON.stringify(digest)}: unsupported algorithm ${JSON.stringify(alg)}`, { digest });
  }
  const want = ALGORITHMS[alg];
  if (hex.length !== want || !HEX.test(hex)) {
    throw invalidArgument('ERR_INVALID_DIGEST', `invalid digest ${JSON.stringify(digest)}: ${alg} needs ${want} lower-case hex characters`, {
      digest,
      expected: want,
      actual: hex.length,
    });
  }
  return { algorithm: alg, hex, digest };
}

export function isDigest(v: unknown): v is string {
  try {
    parseDigest(v);
    return true;
  } catch {
    return false;
  }
}

export function formatDigest(algorithm: Algorithm, hex: string): string {
  return `${algorithm}:${hex}`;
}
