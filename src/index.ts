/**
 * containerkit: a daemonless content-addressable blob store.
 */
export type * from './content/types.js';
export { writeBlob } from './content/write-blob.js';
export type { BlobSource, RangedSource, SeekableSource, RestartableSource, WriteBlobOptions, WriteBlobResult } from './content/write-blob.js';
export { openStore, LocalStore, type StoreOptions } from './local/store.js';
export type { PruneOptions, PruneResult, PrunedIngest } from './local/prune.js';
export * from './errors.js';
export { parseDigest, isDigest, ALGORITHMS, type Algorithm, type ParsedDigest } from './digest.js';
export type { HashEngine, HashState } from './hash/types.js';
export { InlineHashEngine } from './hash/inline.js';
export { defaultEngine, closeDefaultEngine, configureDefaultEngine } from './hash/engine.js';
export { ingestFiles } from './bulk/ingest.js';
export { verifyStore } from './bulk/verify.js';
export type { IngestedFile, IngestFilesOptions } from './bulk/ingest.js';
export type { VerifyOptions, VerifyReport, VerifyIssue, BlobProblem } from './bulk/verify.js';
export { openSnapshotter, applyLayer } from './snapshots/entry.js';
export type { Snapshotter, Info as SnapshotInfo, Kind as SnapshotKind, Mount, Usage as SnapshotUsage, SnapshotOptions } from './snapshots/types.js';
export type { ApplyOptions, ApplyResult } from './archive/apply.js';
export { openRemoteStore, RemoteStore, type RemoteDeleteOptions } from './remote-store/store.js';
export type { RemoteOptions } from './remote-store/connect.js';
