/**
 * `verify`: re-hash committed blobs in the pool and report what is wrong. A pipeline of
 * named, timed steps (list → rehash → delete), like cacache's verify.
 *
 * Problems:
 * - `corrupt`: the content's digest is not the blob's name.
 * - `truncated`: the digest is wrong and the blob is empty, or shorter than stat said when
 *   reading began. (The store keeps no separate size record, so a truncated non-empty blob
 *   is indistinguishable from a corrupt one: it is reported as corrupt.)
 * - `misnamed`: a file under blobs/ whose name is not a valid digest (unknown algorithm
 *   directory, wrong length, upper-case or non-hex name), or a non-file where a blob belongs.
 * - `unreadable`: the blob could not be read (EACCES, EIO…).
 * - `missing`: a digest the caller named is not in the store.
 * `deleteCorrupt` moves corrupt and truncated blobs to `<root>/quarantine/`, only if the file
 * at the blob's name is still the one hashed (./quarantine.ts): a blob repaired while verify
 * ran is left alone. Misnamed files are never touched (they may not be ours).
 */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Store } from '../content/types.js';
import { ALGORITHMS, isAlgorithm, isDigest, parseDigest } from '../digest.js';
import { fromWire } from '../errors.js';
import { defaultPool, fileHashMode } from '../hash/engine.js';
import type { HashMode, HashPool } from '../hash/pool.js';
import { blobPath, blobsDir } from '../local/paths.js';
import { DEFAULT_BATCH } from './enumerate.js';
import type { VerifyBlobOutcome, VerifyBlobsTask } from './tasks.js';
import { stepTimer, type StepTiming } from '../steps.js';
import { loadTrust, type TrustPolicy } from '../local/trust.js';
import type { HashedFileId } from './file-hash.js';
import { quarantineIfSame } from './quarantine.js';
import { crashpoint } from '../testing/crashpoint.js';

export type BlobProblem = 'corrupt' | 'truncated' | 'misnamed' | 'unreadable' | 'missing';

export interface VerifyIssue {
  problem: BlobProblem;
  path: string;
  /** The blob's name (absent for misnamed files). */
  digest?: string;
  /** Digest of the content actually read. */
  actual?: string;
  size?: number;
  message: string;
  /** Set when deleteCorrupt removed the blob from the store (moved to `quarantined`). */
  deleted?: boolean;
  quarantined?: string;
  /** deleteCorrupt left the blob in place: it changed (was repaired) after it was hashed, or is gone. */
  kept?: 'changed' | 'missing';
  /** Identity of the file hashed. */
  hashed?: HashedFileId;
}

export interface VerifyProgress {
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
}

export interface VerifyOptions {
  /** Only these digests (default: every blob, plus a scan for misnamed files). */
  digests?: string[];
  deleteCorrupt?: boolean;
  onProgress?: (p: VerifyProgress) => void;
  /** Default native (node:crypto) for sha256/sha512; blake3 always wasm. */
  hash?: HashMode | 'auto';
  pool?: HashPool;
  /** Batches in flight (default 2 × pool threads). */
  concurrency?: number;
}

export interface VerifyReport {
  /** Blobs re-hashed. */
  checked: number;
  ok: number;
  bytes: number;
  issues: VerifyIssue[];
  steps: StepTiming[];
}

interface Candidate {
  path: string;
  digest: string;
  size: number;
}

export async function verifyStore(store: Pick<Store, 'root'> & { trust?: TrustPolicy }, options: VerifyOptions = {}): Promise<VerifyReport> {
  const pool = options.pool ?? defaultPool();
  const report: VerifyReport = { checked: 0, ok: 0, bytes: 0, issues: [], steps: [] };
  const step = stepTimer(report.steps);

  const candidates = await step('list', () =>
    options.digests ? listNamed(store.root, options.digests, report.issues) : listAll(store.root, report.issues),
  );
  await step('rehash', () => rehash(pool, candidates, options, report));
  if (options.deleteCorrupt) await step('quarantine', () => deleteCorrupt(store.trust ?? loadTrust(store.root, false), report.issues));
  return report;
}

async function listNamed(root: string, digests: string[], issues: VerifyIssue[]): Promise<Candidate[]> {
  const out: Candidate[] = [];
  for (const digest of digests) {
    const path = blobPath(root, digest); // InvalidArgument for a malformed digest
    try {
      const st = await lstat(path);
      if (st.isFile()) out.push({ path, digest, size: st.size });
      else issues.push({ problem: 'misnamed', path, message: `${path} is not a regular file` });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      issues.push({ problem: 'missing', path, digest, message: `${digest} is not in the store` });
    }
  }
  return out;
}

async function listAll(root: string, issues: VerifyIssue[]): Promise<Candidate[]> {
  const out: Candidate[] = [];
  const misnamed = (path: string, why: string) => issues.push({ problem: 'misnamed', path, message: `${path}: ${why}` });
  let algs;
  try {
    algs = await readdir(blobsDir(root), { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return out;
    throw err;
  }
  for (const a of algs) {
    const dir = join(blobsDir(root), a.name);
    if (!a.isDirectory() || !isAlgorithm(a.name)) {
      misnamed(dir, `not a digest algorithm directory (expected ${Object.keys(ALGORITHMS).join(', ')})`);
      continue;
    }
    const alg = a.name;
    for (const b of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, b.name);
      const digest = `${alg}:${b.name}`;
      if (!isDigest(digest)) misnamed(path, `not a valid ${alg} digest name`);
      else if (!b.isFile()) misnamed(path, 'not a regular file');
      else {
        try {
          out.push({ path, digest, size: (await lstat(path)).size });
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // deleted meanwhile: fine
        }
      }
    }
  }
  return out;
}

async function rehash(pool: HashPool, candidates: Candidate[], options: VerifyOptions, report: VerifyReport): Promise<void> {
  const progress: VerifyProgress = { filesDone: 0, filesTotal: candidates.length, bytesDone: 0, bytesTotal: 0 };
  for (const c of candidates) progress.bytesTotal += c.size;
  options.onProgress?.({ ...progress });
  const concurrency = Math.max(1, options.concurrency ?? 2 * pool.threads);

  // Batches as in ingest (src/bulk/enumerate.ts DEFAULT_BATCH), one hash mode per batch:
  // blake3 blobs hash with wasm even when native was asked for.
  const groups: Array<{ mode: HashMode; blobs: Candidate[] }> = [];
  const open = new Map<HashMode, { blobs: Candidate[]; bytes: number }>();
  for (const c of candidates) {
    const mode = fileHashMode(parseDigest(c.digest).algorithm, options.hash);
    let g = open.get(mode);
    if (!g || g.blobs.length >= DEFAULT_BATCH.maxFiles || g.bytes >= DEFAULT_BATCH.maxBytes) {
      g = { blobs: [], bytes: 0 };
      open.set(mode, g);
      groups.push({ mode, blobs: g.blobs });
    }
    g.blobs.push(c);
    g.bytes += c.size;
  }

  const running = new Set<Promise<void>>();
  let failure: unknown;
  for (const { mode, blobs } of groups) {
    const task: VerifyBlobsTask = { mode, blobs: blobs.map(({ path, digest }) => ({ path, digest })) };
    const p = pool.run<VerifyBlobOutcome[]>('verify-blobs', () => task).then((outcomes) => {
      for (const o of outcomes) classify(o, report);
      progress.filesDone += outcomes.length;
      progress.bytesDone += blobs.reduce((n, b) => n + b.size, 0);
      options.onProgress?.({ ...progress });
    });
    const tracked: Promise<void> = p.then(
      () => void running.delete(tracked),
      (err: unknown) => {
        running.delete(tracked);
        failure ??= err;
      },
    );
    running.add(tracked);
    if (running.size >= concurrency) await Promise.race(running);
    if (failure) break;
  }
  await Promise.all(running);
  if (failure) throw failure;
}

function classify(o: VerifyBlobOutcome, report: VerifyReport): void {
  if (o.error) {
    const err = fromWire(o.error);
    if (err.details.errno === 'ENOENT') return; // deleted while we looked: not a problem
    report.issues.push({ problem: 'unreadable', path: o.path, digest: o.digest, message: err.message });
    return;
  }
  report.checked++;
  report.bytes += o.size;
  if (o.actual === o.digest) {
    report.ok++;
    return;
  }
  const truncated = o.size === 0 || o.size < o.statSize;
  report.issues.push({
    problem: truncated ? 'truncated' : 'corrupt',
    path: o.path,
    digest: o.digest,
    actual: o.actual,
    size: o.size,
    message: `${o.digest} is ${truncated ? 'truncated' : 'corrupt'}: content hashes to ${o.actual} (${o.size} bytes)`,
    hashed: o.id,
  });
}

async function deleteCorrupt(trust: TrustPolicy, issues: VerifyIssue[]): Promise<void> {
  for (const issue of issues) {
    if ((issue.problem !== 'corrupt' && issue.problem !== 'truncated') || !issue.digest || !issue.hashed) continue;
    crashpoint('verify:before-quarantine');
    const r = await quarantineIfSame(trust, issue.path, issue.digest, issue.hashed);
    if (r.moved) {
      issue.deleted = true;
      issue.quarantined = r.path;
    } else {
      issue.kept = r.reason;
    }
  }
}
