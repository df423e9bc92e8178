/**
 * The on-disk layout (format version 1). Every path is built from a validated digest or
 * from sha256(ref): user-supplied strings never become path components.
 *
 *   <root>/blobs/<alg>/<hex>          committed blobs, mode 0444
 *   <root>/ingest/<sha256(ref)>/      data + status of one ingest
 *   <root>/ingest/<sha256(ref)>.lock  the ref lock (a directory, proper-lockfile)
 *   <root>/ingest/<sha256(ref)>.lock/owner identity of the lock holder (inside the lock)
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { parseDigest, type Algorithm } from '../digest.js';

export const FORMAT_VERSION = 1;

export function blobsDir(root: string, alg?: Algorithm): string {
  return alg ? join(root, 'blobs', alg) : join(root, 'blobs');
}

/** Path of a blob; throws InvalidArgument before building anything from a bad digest. */
export function blobPath(root: string, digest: string): string {
  const { algorithm, hex } = parseDigest(digest);
  return join(root, 'blobs', algorithm, hex);
}

export function ingestRoot(root: string): string {
  return join(root, 'ingest');
}

/** Refs are arbitrary strings; their directory is named by a hash, never by the ref. */
export function refKey(ref: string): string {
  return createHash('sha256').update(ref, 'utf8').digest('hex');
}

export interface IngestPaths {
  key: string;
  dir: string;
  data: string;
  status: string;
  lock: string;
  /** The holder's record, inside the lock directory: it appears and goes with the lock. */
  owner: string;
  /** The takeover guard: held for milliseconds while a dead/stale lock is replaced. */
  guard: string;
}

export function ingestPathsForKey(root: string, key: string): IngestPaths {
  return ingestPathsIn(ingestRoot(root), key);
}

/**
 * The paths of ingest `key` under an ingest directory already built by ingestRoot: plain
 * concatenation, as `key` is 64 hex characters (listing 1,000 ingests spent ~9 ms in
 * path.join's normalisation, issue 15).
 */
export function ingestPathsIn(ingestDir: string, key: string): IngestPaths {
  const base = `${ingestDir}/${key}`;
  return {
    key,
    dir: base,
    data: `${base}/data`,
    status: `${base}/status`,
    lock: `${base}.lock`,
    owner: `${base}.lock/owner`,
    guard: `${base}.takeover`,
  };
}

export function ingestPaths(root: string, ref: string): IngestPaths {
  return ingestPathsForKey(root, refKey(ref));
}

/** Ingest keys are exactly 64 hex characters; anything else under ingest/ is debris. */
export const INGEST_KEY = /^[0-9a-f]{64}$/;
