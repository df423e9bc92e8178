/**
 * Issue 8, "Resume trusts the saved hash state over the bytes on disk": a byte flipped inside
 * the prefix a checkpoint covers is caught before any commit. The CLI (a stream it cannot
 * rewind) fails with DataLoss (exit 9) and discards the partial data; a rerun then succeeds.
 * writeBlob with a source that can start over restarts by itself. An intact prefix still
 * resumes with the checkpoint (O(1) start) and commits.
 */
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { blobNames, child, CLI, cli, dist, ingest, ingestPaths, Proc, seededBytes, sha256, useScratch, waitUntil } from './helpers.js';

const { newRoot, track } = useScratch('vresume');
const MiB = 1 << 20;
const CONTENT = seededBytes(21, 5 * MiB);
const D = sha256(CONTENT);

/** Runs `dist ingest --expected-digest D ref`, interrupted (SIGINT) once 3 MiB are in: a checkpoint is saved at close. */
async function interruptedCliIngest(root: string, ref: string): Promise<void> {
  const env = { ...process.env, DIST_JOBS: '1' };
  delete env.DIST_ROOT;
  const p = track(new Proc(process.execPath, [CLI, '--root', root, 'ingest', '--expected-digest', D, ref], { env }));
  p.proc.stdin.write(CONTENT.subarray(0, 3 * MiB));
  const { status } = await dist();
  const paths = ingestPaths(root, ref);
  await waitUntil(async () => ((await import('node:fs')).statSync(paths.data, { throwIfNoEntry: false })?.size ?? 0) >= 3 * MiB, 10_000, '3 MiB on disk');
  p.proc.kill('SIGINT');
  const r = await p.exited;
  expect(r.code, r.stderr).toBe(130);
  expect(status.readStatus(paths.status)?.checkpoint?.offset).toBe(3 * MiB);
}

async function flipByte(path: string, at: number): Promise<void> {
  const fh = await open(path, 'r+');
  const b = Buffer.alloc(1);
  await fh.read(b, 0, 1, at);
  b[0] ^= 0xff;
  await fh.write(b, 0, 1, at);
  await fh.close();
}

describe('a byte flipped under a checkpoint', () => {
  it('CLI: the rerun fails with DataLoss (exit 9), publishes nothing and discards the partial; the next rerun commits', async () => {
    const root = await newRoot();
    const ref = 'flipped';
    await interruptedCliIngest(root, ref);
    await flipByte(ingestPaths(root, ref).data, 1000);

    const again = await cli(root, ['ingest', '--expected-digest', D, ref], { input: CONTENT });
    expect(again.code, again.stderr + again.stdout).toBe(9);
    expect(again.stderr).toMatch(/does not match its checkpoint: its first 3145728 bytes hash to sha256:[0-9a-f]{64}, the checkpoint says sha256:[0-9a-f]{64}; the partial data was discarded/);
    expect(await blobNames(root)).toEqual([]);
    const act = JSON.parse((await cli(root, ['active', '--json'])).stdout);
    expect(act.find((s: any) => s.ref === ref)?.offset ?? 0).toBe(0);

    const third = await cli(root, ['ingest', '--expected-digest', D, ref], { input: CONTENT });
    expect(third.code, third.stderr).toBe(0);
    expect(third.stdout.trim()).toBe(D);
    expect((await cli(root, ['verify'])).code).toBe(0);
  });

  it('without an expected digest the commit is refused too: no blob named for bytes it does not hold', async () => {
    const root = await newRoot();
    const ref = 'flipped-noexpect';
    const h = track(child('holder', { root, ref, bytes: 3 * MiB, seed: 21, checkpointBytes: MiB, checkpointMs: 60_000 }));
    await h.next(['ready']);
    h.send('close');
    await h.next(['closed']);
    h.send('exit');
    await h.exited;
    await flipByte(ingestPaths(root, ref).data, 1000);
    const r = await ingest({ root, ref, content: { seed: 21, size: 5 * MiB }, source: 'stream' });
    expect(r.tag).toBe('error');
    expect(r).toMatchObject({ kind: 'DataLoss', code: 'ERR_RESUME_CORRUPT' });
    expect(await blobNames(root)).toEqual([]);
  });

  it('writeBlob with a ranged source starts over by itself and commits the right digest', async () => {
    const root = await newRoot();
    const ref = 'flipped-ranged';
    await interruptedCliIngest(root, ref);
    await flipByte(ingestPaths(root, ref).data, 3 * MiB - 1);
    const r = await ingest({ root, ref, content: { seed: 21, size: 5 * MiB }, source: 'ranged', expected: D });
    expect(r.tag, JSON.stringify(r)).toBe('result');
    expect(r.digest).toBe(D);
    const blob = await readFile(join(root, 'blobs', 'sha256', D.slice(7)));
    expect(sha256(blob)).toBe(D);
  });

  it('an intact prefix resumes from the checkpoint (nothing re-hashed before the first write) and commits', async () => {
    const root = await newRoot();
    const ref = 'intact';
    await interruptedCliIngest(root, ref);
    const r = await ingest({ root, ref, content: { seed: 21, size: 5 * MiB }, source: 'stream', expected: D });
    expect(r.tag, JSON.stringify(r)).toBe('result');
    expect(r.resumes).toEqual([{ alg: 'sha256', size: 3 * MiB, from: 3 * MiB, checkpoint: true }]);
    expect(r.digest).toBe(D);
  });
});
