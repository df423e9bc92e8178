/**
 * Issue 3 — disk full. As root (CI) the store lives on a real 8 MiB tmpfs filled up by a
 * filler file; otherwise ENOSPC is injected into the child's file writes. The ingest fails
 * with FailedPrecondition/ERR_NO_SPACE, the store stays consistent (no blob, partial data
 * equal to a prefix of the content, lock released), and after space is freed the same
 * ingest resumes and commits the right digest.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, rm, statfs, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { badBlobs, blobNames, cleanup, cli, exists, ingest, ingestEntries, ingestPaths, parseTable, seededBytes, sha256, tempDir } from './helpers.js';

// CK_DISKFULL_INJECT=1 exercises the non-root fallback on a root machine.
const isRoot = process.getuid?.() === 0 && !process.env.CK_DISKFULL_INJECT;
let base: string;
let mnt: string;
let mounted = false;

beforeAll(async () => {
  base = await tempDir('diskfull');
  mnt = join(base, 'mnt');
  await mkdir(mnt);
  if (isRoot) {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mnt]);
    mounted = true;
  }
});
afterAll(async () => {
  if (mounted) execFileSync('umount', ['-l', mnt]);
  await cleanup(base);
});

it(`ingest fails cleanly when the disk is full and resumes after space is freed (${isRoot ? 'real tmpfs' : 'injected ENOSPC'})`, async () => {
  const root = join(mnt, 'store');
  await mkdir(root);
  const SIZE = 4 << 20;
  const content = seededBytes(77, SIZE);
  const digest = sha256(content);
  const filler = join(mnt, 'filler');
  let inject: Record<string, unknown> = {};
  if (isRoot) {
    // Leave ~1.5 MiB: the ingest gets going, then runs out of space mid-data.
    const fs = await statfs(mnt);
    const free = fs.bavail * fs.bsize;
    await writeFile(filler, Buffer.alloc(free - 1536 * 1024));
  } else {
    inject = { enospcAfter: 1536 * 1024 };
  }
  const args = { root, ref: 'big-layer', expected: digest, content: { seed: 77, size: SIZE }, source: 'stream', checkpointBytes: 256 * 1024 };

  const r1 = await ingest({ ...args, ...inject });
  expect(r1.tag, JSON.stringify(r1)).toBe('error');
  expect(r1).toMatchObject({ kind: 'FailedPrecondition', code: 'ERR_NO_SPACE' });
  expect(r1.message).toContain('no space left on device');
  expect(r1.message).toContain('big-layer');

  // Consistent: nothing committed, lock released, the partial data is a prefix of the content.
  const p = ingestPaths(root, 'big-layer');
  expect(await blobNames(root)).toEqual([]);
  expect(await exists(p.lock)).toBe(false);
  const partial = await readFile(p.data);
  expect(partial.length).toBeGreaterThan(0);
  expect(partial.length).toBeLessThan(SIZE);
  expect(partial.equals(content.subarray(0, partial.length))).toBe(true);

  // The CLI reports it the same way (exit 6, FailedPrecondition) — not a crash.
  if (isRoot) {
    const c1 = await cli(root, ['ingest', '--expected-digest', digest, 'cli-layer'], { input: content });
    expect(c1.code, c1.stderr).toBe(6);
    expect(c1.stderr).toContain('no space left on device');
  }
  // `active` still works and shows the partial ingest as idle (resumable).
  const a = await cli(root, ['active']);
  expect(a.code, a.stderr).toBe(0);
  const row = parseTable(a.stdout).find((r) => r.REF === 'big-layer');
  expect(row).toMatchObject({ OFFSET: String(partial.length), STATE: 'idle' });

  // Free the space: the same ingest resumes where it stopped and commits the right digest.
  await rm(filler, { force: true });
  const r2 = await ingest(args);
  expect(r2.tag, JSON.stringify(r2)).toBe('result');
  expect(r2.digest).toBe(digest);
  expect(r2.resumes[0].size).toBe(partial.length);
  expect(r2.written).toBe(SIZE - partial.length);
  if (isRoot) {
    const c2 = await cli(root, ['ingest', '--expected-digest', digest, 'cli-layer'], { input: content });
    expect(c2.code, c2.stderr).toBe(0);
  }
  expect(await blobNames(root)).toEqual([digest]);
  expect(await badBlobs(root)).toEqual([]);
  // The CLI's half-written ingest (if any) is gone too once its retry found the blob, or prune takes it.
  const pr = await cli(root, ['prune', '--older-than', '0']);
  expect(pr.code).toBe(0);
  expect(await ingestEntries(root)).toEqual([]);
});
