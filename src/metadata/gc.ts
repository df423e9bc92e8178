/**
 * Garbage collection: mark from the roots (./graph.ts), sweep unreferenced blobs older than
 * the grace period, and clear what protects nothing any more — dead leases, label records of
 * absent blobs, ingests untouched past the prune age. A pipeline of named, timed steps, run
 * in the collector's exclusive section (./gc-lock.ts): nothing gains protection while it
 * runs, so what it removes was unprotected from its start to its end.
 *
 * Why that is race-free (README: Garbage collection): a process relying on a blob protects
 * it *before* it relies on it — puts it in a live lease in a read section, in the same
 * section in which it checks the blob is present, or before the commit that creates it —
 * and drops that protection only after a stronger one is in place (`dist pull` records the
 * name, then deletes its lease). The collector reads leases before index.json, so a lease
 * deleted after it looked was replaced by a name it sees.
 *
 * The grace period (`graceMs`, default 1 h) also keeps blobs young enough to belong to a
 * writer that does not use leases (mtime: commit time; atime: a dedup that found them).
 */
import { lstatSync, readdirSync, unlinkSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { ALGORITHMS, isDigest } from '../digest.js';
import { isKind, type ContentError } from '../errors.js';
import type { LocalStore } from '../local/store.js';
import { labelsDir, removeLabels } from '../local/labels.js';
import { blobsDir } from '../local/paths.js';
import { stepTimer, type StepTiming } from '../steps.js';
import { exclusiveSection } from './gc-lock.js';
import { allLabels, collectRoots, describeReferrer, mark } from './graph.js';
import { deleteLease, leaseDebris, leaseProtection, type Lease } from './leases.js';
import { rm } from 'node:fs/promises';

export interface GcOptions {
  dryRun?: boolean;
  /** Unreferenced blobs younger than this are kept (default 1 h). */
  graceMs?: number;
  /** Ingests untouched this long are removed (as `prune`; default 24 h). */
  ingestAgeMs?: number;
  signal?: AbortSignal;
}

export interface GcResult {
  dryRun: boolean;
  /** Blobs removed (or, dry, that would be). */
  removed: { count: number; bytes: number; digests: string[] };
  /** Blobs kept because something references them. */
  referenced: number;
  /** Unreferenced blobs kept because they are younger than the grace period. */
  keptByGrace: { count: number; bytes: number };
  /** Blobs whose root is a live lease (directly). */
  keptByLeases: number;
  leases: { live: number; removed: string[] };
  labelsRemoved: number;
  ingestsRemoved: number;
  /** Approximate heap used by the mark set, bytes. */
  markSetBytes: number;
  steps: StepTiming[];
}

export const DEFAULT_GRACE_MS = 3_600_000;
export const DEFAULT_INGEST_AGE_MS = 24 * 3_600_000;
/** Sweep in batches of synchronous calls, yielding between them (lock heartbeats). */
const BATCH = 512;
const yieldNow = () => new Promise((r) => setImmediate(r));

export async function collectGarbage(store: LocalStore, options: GcOptions = {}): Promise<GcResult> {
  const root = store.root;
  const dryRun = !!options.dryRun;
  const grace = options.graceMs ?? DEFAULT_GRACE_MS;
  const result: GcResult = {
    dryRun,
    removed: { count: 0, bytes: 0, digests: [] },
    referenced: 0,
    keptByGrace: { count: 0, bytes: 0 },
    keptByLeases: 0,
    leases: { live: 0, removed: [] },
    labelsRemoved: 0,
    ingestsRemoved: 0,
    markSetBytes: 0,
    steps: [],
  };
  const step = stepTimer(result.steps);
  await exclusiveSection(store.trust, { lock: store.lockOptions, signal: options.signal }, async () => {
    // Leases first, then index.json (see the header).
    const leases = await step('leases', async () => {
      const p = await leaseProtection(root);
      result.leases.live = p.live.length;
      const dead: Lease[] = p.dead;
      if (!dryRun) for (const l of dead) await deleteLease(root, l.id).catch((e: ContentError) => { if (!isKind(e, 'NotFound')) throw e; });
      result.leases.removed = dead.map((l) => l.id);
      return p;
    });
    const ingestExpected = await step('ingests', () => expectedByLiveIngests(store));
    const roots = await step('roots', () => collectRoots(root, { leaseContent: leases.content, ingestExpected }));
    const heapBefore = process.memoryUsage().heapUsed;
    const marked = await step('mark', async () => mark(root, roots));
    result.markSetBytes = Math.max(0, process.memoryUsage().heapUsed - heapBefore);
    for (const r of marked.values()) if (r.kind === 'lease') result.keptByLeases++;

    await step('sweep', async () => {
      const now = Date.now();
      for (const alg of Object.keys(ALGORITHMS)) {
        const dir = blobsDir(root, alg as keyof typeof ALGORITHMS);
        let names: string[];
        try {
          names = readdirSync(dir);
        } catch {
          continue;
        }
        for (let i = 0; i < names.length; i++) {
          if (i % BATCH === BATCH - 1) await yieldNow();
          const digest = `${alg}:${names[i]}`;
          // Marked digests are valid by construction; only the rest need the check.
          if (marked.has(digest)) {
            result.referenced++;
            continue;
          }
          if (!isDigest(digest)) continue; // not ours: verify reports misnamed files
          const path = `${dir}/${names[i]}`; // a validated hex name: nothing for join to normalise
          let st: Stats | undefined;
          try {
            st = lstatSync(path);
          } catch {
            continue;
          }
          if (!st.isFile()) continue;
          if (now - Math.max(st.mtimeMs, st.atimeMs) < grace) {
            result.keptByGrace.count++;
            result.keptByGrace.bytes += st.size;
            continue;
          }
          if (!dryRun) {
            try {
              unlinkSync(path);
            } catch {
              continue;
            }
            // Only blobs that had labels have a record to remove (read with the roots).
            if (roots.labels.has(digest)) await removeLabels(root, digest);
          }
          result.removed.count++;
          result.removed.bytes += st.size;
          result.removed.digests.push(digest);
        }
      }
    });

    await step('labels', async () => {
      // Records of blobs that are gone label nothing; a blob stored again starts unlabelled.
      for (const digest of allLabels(root).keys()) {
        if (await store.exists(digest)) continue;
        if (!dryRun) await removeLabels(root, digest);
        result.labelsRemoved++;
      }
      // Temp names and lock preparations left by a crash (never younger than a minute: a
      // label update may be writing one now).
      for (const alg of Object.keys(ALGORITHMS)) {
        for (const n of readdirSafe(labelsDir(root, alg))) {
          const p = join(labelsDir(root, alg), n);
          const st = n.startsWith('.') ? lstatSafe(p) : undefined;
          if (st && Date.now() - st.mtimeMs > 60_000 && !dryRun) await rm(p, { recursive: true, force: true }).catch(() => {});
        }
      }
    });

    await step('prune', async () => {
      const pr = await store.prune({ olderThanMs: options.ingestAgeMs ?? DEFAULT_INGEST_AGE_MS, dryRun });
      result.ingestsRemoved = pr.removed.filter((r) => r.state !== 'debris' && r.state !== 'orphan').length;
      if (!dryRun) for (const p of await leaseDebris(root)) await rm(p, { recursive: true, force: true }).catch(() => {});
    });
  });
  return result;
}

/** Expected digest -> ref of every ingest in progress (not stale): roots, as their blob is on its way. */
async function expectedByLiveIngests(store: LocalStore): Promise<Map<string, string>> {
  const m = new Map<string, string>();
  for (const s of await store.listStatuses()) if (s.expected && s.state !== 'stale') m.set(s.expected, s.ref);
  return m;
}

function lstatSafe(p: string): Stats | undefined {
  try {
    return lstatSync(p);
  } catch {
    return undefined;
  }
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * What keeps blobs (for `dist delete`): `fn` gets a lookup answering, for a digest, the
 * first referrer found (or undefined), computed from the same roots as the collector, in its exclusive section so the
 * answer holds until `fn` (the deletion) is done.
 */
export async function withReferrers<T>(store: LocalStore, fn: (referrer: (d: string) => string | undefined) => Promise<T>): Promise<T> {
  return exclusiveSection(store.trust, { lock: store.lockOptions }, async () => {
    const leases = await leaseProtection(store.root);
    const ingestExpected = await expectedByLiveIngests(store);
    const roots = await collectRoots(store.root, { leaseContent: leases.content, ingestExpected });
    const marked = mark(store.root, roots);
    return fn((d) => {
      const r = marked.get(d);
      return r ? describeReferrer(r) : undefined;
    });
  });
}
