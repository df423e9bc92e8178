/**
 * Issue 3 — stress: 8 processes × 200 ingests of overlapping random content (0 B – 4 MiB)
 * into one store with wait: every blob present and matching its digest, no ingest dirs or
 * lock files left, no error other than the expected AlreadyExists (which writeBlob reports
 * as `existed`).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { badBlobs, blobNames, child, cleanup, ingestEntries, seededBytes, sha256, tempDir } from './helpers.js';
// @ts-expect-error — plain ESM child module, no types
import { blobSize } from './children/stress-sizes.mjs';

let root: string;
beforeAll(async () => {
  root = await tempDir('stress');
});
afterAll(async () => {
  await cleanup(root);
});

const PROCS = 8;
const COUNT = 200;
const BLOBS = 300;
const SEED = 17;

it('8 processes × 200 ingests of overlapping content: all present and correct, nothing left over', async () => {
  const t0 = Date.now();
  const cs = Array.from({ length: PROCS }, (_, proc) => child('stress', { root, proc, procs: PROCS, blobs: BLOBS, count: COUNT, seed: SEED }, { DIST_JOBS: '1' }));
  const results = await Promise.all(cs.map(async (c) => (await c.next(['result', 'uncaught'], 110_000))[1]));
  await Promise.all(cs.map((c) => c.exited));
  const elapsed = Date.now() - t0;

  const errors = results.flatMap((r: any) => r.errors ?? [r]);
  expect(errors).toEqual([]);
  const committed = results.reduce((n: number, r: any) => n + r.committed, 0);
  const existed = results.reduce((n: number, r: any) => n + r.existed, 0);
  expect(committed + existed).toBe(PROCS * COUNT);

  const expected = new Set<string>();
  for (let i = 0; i < BLOBS; i++) expected.add(sha256(seededBytes(SEED * 100_003 + i, blobSize(i, SEED))));
  // Each distinct digest was committed exactly once (the rest saw AlreadyExists).
  expect(committed).toBe(expected.size);
  expect(new Set(await blobNames(root))).toEqual(expected);
  expect(await badBlobs(root)).toEqual([]);
  expect(await ingestEntries(root)).toEqual([]);
  console.log(`stress: ${PROCS}×${COUNT} ingests, ${expected.size} blobs, ${existed} AlreadyExists, ${elapsed} ms`);
}, 120_000);
