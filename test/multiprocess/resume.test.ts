/**
 * Issue 3 — O(1) resume: reopening a ref hashes only the data past the checkpoint (observed
 * through diagnostics_channel 'containerkit:ingest:resume'); a checkpoint from another hash
 * build, or one inconsistent with the data, falls back to a full re-hash — never a wrong digest.
 */
import { open, readFile, truncate } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import {
  badBlobs,
  blobNames,
  child,
  dist,
  exists,
  ingest,
  ingestPaths,
  seededBytes,
  sha256,
  useScratch,
  waitUntil,
} from './helpers.js';

const MiB = 1 << 20;
const SIZE = 8 * MiB;
const { newRoot, track } = useScratch('resume');

/** A partial ingest of seededBytes(SEED, ·): `bytes` written, then closed or SIGKILLed. */
async function partial(root: string, ref: string, bytes: number, end: 'close' | 'kill', checkpointBytes = MiB) {
  const h = track(child('holder', { root, ref, bytes, seed: SEED, checkpointBytes, checkpointMs: 60_000 }));
  await h.next(['ready']);
  if (end === 'kill') {
    // Checkpoints are saved in the background, after an fdatasync of the data: let the last one
    // due land before the kill (30 s: that fdatasync can take seconds on a disk busy with other work).
    const { status } = await dist();
    const due = Math.floor(bytes / checkpointBytes) * checkpointBytes;
    await waitUntil(async () => ((await status.readStatus(ingestPaths(root, ref).status))?.checkpoint?.offset ?? 0) >= due, 30_000, `checkpoint at ${due}`);
  }
  if (end === 'close') {
    h.send('close');
    await h.next(['closed']);
    h.send('exit');
    await h.exited;
  } else {
    await h.kill();
  }
}
const SEED = 5;
const full = seededBytes(SEED, SIZE);
const DIGEST = sha256(full);

const resumeRun = (root: string, ref: string, extra: Record<string, unknown> = {}) =>
  ingest({ root, ref, content: { seed: SEED, size: SIZE }, expected: DIGEST, lock: { staleMs: 2000, updateMs: 1000 }, ...extra });

describe('resume from the checkpoint', () => {
  it('after close: hashes nothing already written (from == size)', async () => {
    const root = await newRoot();
    const at = 5 * MiB + 12_345 * 4;
    await partial(root, 'closed', at, 'close');
    const r = await resumeRun(root, 'closed');
    expect(r.tag, JSON.stringify(r)).toBe('result');
    expect(r.resumes).toEqual([{ alg: 'sha256', size: at, from: at, checkpoint: true }]);
    expect(r).toMatchObject({ digest: DIGEST, existed: false, written: SIZE - at });
  });

  it('after SIGKILL: hashes only the bytes past the last checkpoint', async () => {
    const root = await newRoot();
    const at = 3 * MiB + 512 * 1024;
    await partial(root, 'killed', at, 'kill');
    const r = await resumeRun(root, 'killed');
    expect(r.tag, JSON.stringify(r)).toBe('result');
    expect(r.resumes).toEqual([{ alg: 'sha256', size: at, from: 3 * MiB, checkpoint: true }]);
    expect(r.takeovers.length).toBe(1); // the dead writer's lock, at once
    expect(r.digest).toBe(DIGEST);
  });

  it('a chain of interrupted writers still commits the right digest', async () => {
    const root = await newRoot();
    for (const at of [MiB + 4, 2 * MiB + 400, 4 * MiB, 6 * MiB + 64]) await partial(root, 'chain', at, at % 8 === 0 ? 'close' : 'kill');
    const r = await resumeRun(root, 'chain');
    expect(r.tag, JSON.stringify(r)).toBe('result');
    expect(r.resumes[0].size).toBe(6 * MiB + 64);
    expect(r.resumes[0].from).toBeGreaterThanOrEqual(6 * MiB);
    expect(r.digest).toBe(DIGEST);
  });
});

describe('checkpoints that cannot be trusted fall back to a full re-hash', () => {
  async function rewriteCheckpoint(root: string, ref: string, patch: (cp: any) => any) {
    const { status } = await dist();
    const p = ingestPaths(root, ref);
    const rec = await status.readStatus(p.status);
    expect(rec?.checkpoint).toBeDefined();
    const { file } = await status.StatusFile.open(p.status);
    await file.write({ ...rec, checkpoint: patch(rec.checkpoint) });
    await file.close();
    expect((await status.readStatus(p.status)).checkpoint).toEqual(patch(rec.checkpoint));
  }

  it('a state from another hash build', async () => {
    const root = await newRoot();
    const at = 4 * MiB;
    await partial(root, 'build', at, 'close');
    await rewriteCheckpoint(root, 'build', (cp) => ({ ...cp, build: 'hash-wasm@0.0.1-incompatible' }));
    const r = await resumeRun(root, 'build');
    expect(r.tag, JSON.stringify(r)).toBe('result');
    expect(r.resumes).toEqual([{ alg: 'sha256', size: at, from: 0, checkpoint: false }]);
    expect(r.digest).toBe(DIGEST);
  });

  it('a state for another algorithm', async () => {
    const root = await newRoot();
    await partial(root, 'alg', 2 * MiB, 'close');
    await rewriteCheckpoint(root, 'alg', (cp) => ({ ...cp, alg: 'sha512' }));
    const r = await resumeRun(root, 'alg');
    expect(r.resumes[0]).toMatchObject({ from: 0, checkpoint: false });
    expect(r.digest).toBe(DIGEST);
  });

  it('data shorter than the checkpoint (truncated)', async () => {
    const root = await newRoot();
    await partial(root, 'short', 4 * MiB, 'close');
    await truncate(ingestPaths(root, 'short').data, 3 * MiB + 100);
    const r = await resumeRun(root, 'short');
    expect(r.tag, JSON.stringify(r)).toBe('result');
    expect(r.resumes).toEqual([{ alg: 'sha256', size: 3 * MiB + 100, from: 0, checkpoint: false }]);
    expect(r.digest).toBe(DIGEST);
  });

  it('data truncated and regrown to the checkpoint size (tail differs)', async () => {
    const root = await newRoot();
    await partial(root, 'regrown', 4 * MiB, 'close');
    const p = ingestPaths(root, 'regrown');
    await truncate(p.data, 4 * MiB - 100);
    await truncate(p.data, 4 * MiB); // zero-filled tail: same size as the checkpoint
    const r = await ingest({ root, ref: 'regrown', content: { seed: SEED, size: 4 * MiB }, size: null });
    expect(r.resumes[0]).toMatchObject({ size: 4 * MiB, from: 0, checkpoint: false });
    const onDisk = Buffer.concat([full.subarray(0, 4 * MiB - 100), Buffer.alloc(100)]);
    expect(r.digest).toBe(sha256(onDisk));
  });

  it('data overwritten just before the checkpoint offset: the digest names the bytes on disk', async () => {
    const root = await newRoot();
    const at = 4 * MiB;
    await partial(root, 'overwritten', at, 'close');
    const p = ingestPaths(root, 'overwritten');
    const fh = await open(p.data, 'r+');
    await fh.write(Buffer.from('CORRUPTED!'), 0, 10, at - 1000);
    await fh.close();
    const onDisk = await readFile(p.data);
    expect(sha256(onDisk)).not.toBe(sha256(full.subarray(0, at)));

    // Without an expected digest: commit what is on disk; its name must match its bytes.
    const r = await ingest({ root, ref: 'overwritten', content: { seed: SEED, size: at }, size: null });
    expect(r.tag, JSON.stringify(r)).toBe('result');
    expect(r.resumes).toEqual([{ alg: 'sha256', size: at, from: 0, checkpoint: false }]);
    expect(r.digest).toBe(sha256(onDisk));
    expect(await badBlobs(root)).toEqual([]);
  });

  it('data overwritten, with an expected digest, from a ranged source: written again from byte 0, committed', async () => {
    const root = await newRoot();
    const at = 4 * MiB;
    await partial(root, 'mismatch-ranged', at, 'close');
    const p = ingestPaths(root, 'mismatch-ranged');
    const fh = await open(p.data, 'r+');
    await fh.write(Buffer.from([0xff ^ full[at - 1]!]), 0, 1, at - 1);
    await fh.close();
    const r = await resumeRun(root, 'mismatch-ranged');
    expect(r.tag, JSON.stringify(r)).toBe('result');
    // The first open re-hashes everything (the tail no longer matches the checkpoint); the
    // second, after the mismatch, reopens what the failed commit kept and truncates it.
    expect(r.resumes.length).toBe(2);
    expect(r.resumes[0]).toEqual({ alg: 'sha256', size: at, from: 0, checkpoint: false });
    expect(r.resumes[1]).toMatchObject({ alg: 'sha256', size: SIZE });
    expect(r.written).toBe(SIZE);
    expect(r.digest).toBe(DIGEST);
    expect(await badBlobs(root)).toEqual([]);
  });

  it('data overwritten, with an expected digest, from a plain stream: FailedPrecondition, nothing committed, ingest kept', async () => {
    const root = await newRoot();
    const at = 4 * MiB;
    await partial(root, 'mismatch', at, 'close');
    const p = ingestPaths(root, 'mismatch');
    const fh = await open(p.data, 'r+');
    await fh.write(Buffer.from([0xff ^ full[at - 1]!]), 0, 1, at - 1);
    await fh.close();
    const r = await resumeRun(root, 'mismatch', { source: 'stream' });
    expect(r.tag).toBe('error');
    expect(r).toMatchObject({ kind: 'FailedPrecondition', code: 'ERR_DIGEST_MISMATCH' });
    expect(r.resumes[0]).toMatchObject({ from: 0, checkpoint: false });
    expect(await blobNames(root)).toEqual([]);
    expect(await exists(p.data)).toBe(true);
    expect(await exists(p.lock)).toBe(false);
  });
});
