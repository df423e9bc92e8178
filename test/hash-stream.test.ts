/**
 * The pinned hashing thread of a long ingest (src/hash/stream.ts, issue 14): chunks pushed
 * without waiting are hashed in push order, each answer is the state after exactly the bytes
 * before it (the pool's format: any engine continues it, digests are unchanged), an ended
 * stream refuses work, and a writer that hashes through one checkpoints and resumes as
 * with the pool.
 */
import { createHash } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { closeDefaultEngine, defaultEngine, STREAM_AFTER } from '../src/hash/engine.js';
import { inlineEngine } from '../src/hash/inline.js';
import { WorkerHashStream } from '../src/hash/stream.js';
import { openStore } from '../src/local/store.js';
import { randomBytes } from './helpers/bytes.js';
import { cleanupAll, makeTempDir } from './helpers/tmp.js';

afterAll(async () => {
  await closeDefaultEngine();
  await cleanupAll();
});

const sha256 = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('WorkerHashStream', () => {
  it('hashes pushed chunks in order; each state is the digest of the prefix up to it, and continues anywhere', async () => {
    const chunks = [randomBytes(1 << 20), randomBytes(100), randomBytes(3 << 20), randomBytes(65_537), randomBytes(1)];
    // Shared memory is hashed in place; plain buffers are copied first: both in one stream.
    const shared = chunks.map((c, i) => {
      if (i % 2) return c;
      const s = new Uint8Array(new SharedArrayBuffer(c.byteLength));
      s.set(c);
      return s;
    });
    const start = await inlineEngine.update(await inlineEngine.init('sha256'), Buffer.from('prefix'));
    const stream = new WorkerHashStream(start);
    try {
      const states = await Promise.all(shared.map((c) => stream.push(c)));
      let prefix = Buffer.from('prefix');
      for (let i = 0; i < chunks.length; i++) {
        prefix = Buffer.concat([prefix, chunks[i]!]);
        expect(states[i]!.offset).toBe(prefix.length);
        expect(await inlineEngine.digest(states[i]!)).toBe(sha256(prefix));
      }
      // The last state continues on another engine (the inline one) exactly.
      const more = await inlineEngine.update(states.at(-1)!, Buffer.from('tail'));
      expect(await inlineEngine.digest(more)).toBe(sha256(Buffer.concat([prefix, Buffer.from('tail')])));
    } finally {
      stream.end();
    }
  });

  it('refuses pushes once ended', async () => {
    const stream = new WorkerHashStream(await inlineEngine.init('sha256'));
    await stream.push(randomBytes(10));
    stream.end();
    await expect(stream.push(randomBytes(10))).rejects.toThrow(/ended/);
  });

  it('the default engine opens one only past STREAM_AFTER, for its own states', async () => {
    const engine = defaultEngine();
    const s0 = await engine.init('sha256');
    expect(engine.openStream(s0)).toBeUndefined();
    const big = { ...s0, offset: STREAM_AFTER };
    const stream = engine.openStream(big);
    expect(stream).toBeInstanceOf(WorkerHashStream);
    stream!.end();
    expect(engine.openStream({ ...big, build: 'node:crypto' })).toBeUndefined();
  });
});

it('a writer hashing through its stream checkpoints, and a reopened ingest resumes from that checkpoint with the right digest', async () => {
  const tmp = await makeTempDir('ck-hash-stream-');
  const store = openStore(join(tmp.dir, 'store'), { checkpointBytes: 2 << 20 });
  const content = randomBytes(16 << 20);
  const resumes: Array<{ from: number; checkpoint: boolean }> = [];
  const onResume = (m: unknown) => resumes.push(m as { from: number; checkpoint: boolean });
  subscribe('containerkit:ingest:resume', onResume);
  try {
    const MiB = 1 << 20;
    const w1 = await store.writer({ ref: 'long' });
    for (let at = 0; at < 11 * MiB; at += MiB) await w1.write(content.subarray(at, at + MiB));
    await w1.close();
    const w2 = await store.writer({ ref: 'long' });
    expect((await w2.status()).offset).toBe(11 * MiB);
    for (let at = 11 * MiB; at < content.length; at += MiB) await w2.write(content.subarray(at, at + MiB));
    expect(await w2.commit({ expected: sha256(content) })).toBe(sha256(content));
    // The close saved the stream's state at 11 MiB: nothing before it was hashed again.
    expect(resumes.at(-1)).toMatchObject({ from: 11 * MiB, checkpoint: true });
  } finally {
    unsubscribe('containerkit:ingest:resume', onResume);
    await store.close();
  }
});
