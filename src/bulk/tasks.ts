/** The messages of the whole-file worker tasks (workers/ingest-files.ts, workers/verify-blobs.ts). */
import type { Algorithm } from '../digest.js';
import type { WireError } from '../errors.js';
import type { HashMode } from '../hash/pool.js';
import type { HashedFileId } from './file-hash.js';

/** Ingest a batch of whole files into the store at `root`; one blob-dir fsync per batch. */
export interface IngestFilesTask {
  root: string;
  /** Mode for a blob directory the worker creates (the store's TrustPolicy.dirMode), and whether to set it explicitly (group store). */
  dirMode?: number;
  group?: boolean;
  alg: Algorithm;
  mode: HashMode;
  paths: string[];
}

export type IngestFileOutcome =
  | { path: string; digest: string; size: number; existed: boolean; error?: undefined }
  | { path: string; error: WireError };

/** Re-hash a batch of committed blobs. */
export interface VerifyBlobsTask {
  mode: HashMode;
  blobs: Array<{ path: string; digest: string }>;
}

export interface VerifyBlobOutcome {
  path: string;
  digest: string;
  /** Digest of the bytes actually read. */
  actual?: string;
  /** Bytes read. */
  size: number;
  /** Size fstat reported before reading. */
  statSize: number;
  /** Identity of the file hashed (fstat of the descriptor read). */
  id?: HashedFileId;
  error?: WireError;
}
