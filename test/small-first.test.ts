/**
 * The small-first engine (src/hash/small-first.ts) that `dist ingest` hashes with (issue 15):
 * OpenSSL up to SMALL_BYTES, then the checkpointed engine from byte 0. Digests never
 * depend on where the switch happens; a small ingest never touches the checkpointed engine
 * (no WebAssembly, no threads); a large one is checkpointed and resumed as before.
 */
import { createHash } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Algorithm } from '../src/digest.js';
import { closeDefaultEngine } from '../src/hash/engine.js';
import { inlineEngine } from '../src/hash/inline.js';
import { SMALL_BYTES, SmallFirstEngine } from '../src/hash/small-first.js';
import type { HashEngine, HashState } from '../src/hash/types.js';
import { HASH_BUILD } from '../src/hash/wasm.js';
import { openStore } from '../src/local/store.js';
import { ingestPaths } from '../src/local/paths.js';
import { readStatus } from '../src/local/status-file.js';
import { randomBytes } from './helpers/bytes.js';
import { cleanupAll, makeTempDir } from './helpers/tmp.js';

afterAll(async () => {
  await closeDefaultEngine();
  await cleanupAll();
});

/** The inline hash-wasm engine, counting what reaches it. */
function countingInner(): { engine: HashEngine; calls: () => number } {
  let calls = 0;
  const engine: HashEngine = {
    init: (alg) => (calls++, inlineEngine.init(alg)),
    update: (s, d) => (calls++, inlineEngine.update(s, d)),
    digest: (s) => (calls++, inlineEngine.digest(s)),
    close: async () => {},
  };
  return { engine, calls: () => calls };
}

async function hashChunks(engine: HashEngine, alg: Algorithm, chunks: Uint8Array[]): Promise<{ state: HashState; digest: string }> {
  let state = await engine.init(alg);
  for (const c of chunks) state = await engine.update(state, c);
  return { state, digest: await engine.digest(state) };
}

function split(data: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  for (const n of sizes) {
    out.push(data.subarray(at, at + n));
    at += n;
  }
  if (at < data.length) out.push(data.subarray(at));
  return out;
}

describe('digests', () => {
  const cases: Array<[string, number, number[]]> = [
    ['empty', 0, []],
    ['2 KiB in one write', 2048, []],
    ['exactly SMALL_BYTES in 64 KiB writes', SMALL_BYTES, Array(15).fill(64 * 1024)],
    ['one byte past SMALL_BYTES, crossing inside a write', SMALL_BYTES + 1, [1000, SMALL_BYTES - 500]],
    ['3 MiB in 1 MiB writes', 3 * SMALL_BYTES, [SMALL_BYTES, SMALL_BYTES]],
  ];
  it.each(cases)('%s: the same digest as OpenSSL, for sha256 and sha512', async (_name, size, sizes) => {
    const data = randomBytes(size);
    for (const alg of ['sha256', 'sha512'] as const) {
      const { digest } = await hashChunks(new SmallFirstEngine(() => inlineEngine), alg, split(data, sizes));
      expect(digest).toBe(`${alg}:${createHash(alg).update(data).digest('hex')}`);
    }
  });

  it('a caller reusing its buffer after each update does not change the digest (the engine keeps copies)', async () => {
    const data = randomBytes(SMALL_BYTES + 4096);
    const buf = Buffer.alloc(4096);
    const engine = new SmallFirstEngine(() => inlineEngine);
    let s = await engine.init('sha256');
    for (let at = 0; at < data.length; at += buf.length) {
      data.copy(buf, 0, at, at + buf.length);
      s = await engine.update(s, buf);
      buf.fill(0xee); // the writer's ring slot is reused like this
    }
    expect(await engine.digest(s)).toBe(`sha256:${createHash('sha256').update(data).digest('hex')}`);
  });
});

describe('which engine does the work', () => {
  it('up to SMALL_BYTES the checkpointed engine is never touched (no WebAssembly, no pool)', async () => {
    const inner = countingInner();
    const { state } = await hashChunks(new SmallFirstEngine(() => inner.engine), 'sha256', split(randomBytes(SMALL_BYTES), [4096, 60_000]));
    expect(inner.calls()).toBe(0);
    expect(state.build).not.toBe(HASH_BUILD); // not checkpointable
  });

  it('past SMALL_BYTES the state is the checkpointed engine\'s (hash-wasm, checkpointable)', async () => {
    const inner = countingInner();
    const { state } = await hashChunks(new SmallFirstEngine(() => inner.engine), 'sha256', split(randomBytes(SMALL_BYTES + 1), [SMALL_BYTES]));
    expect(inner.calls()).toBeGreaterThan(0);
    expect(state.build).toBe(HASH_BUILD);
    expect(state.offset).toBe(SMALL_BYTES + 1);
  });

  it('blake3 (no OpenSSL implementation) uses the checkpointed engine from the start', async () => {
    const inner = countingInner();
    const { state } = await hashChunks(new SmallFirstEngine(() => inner.engine), 'blake3', [randomBytes(100)]);
    expect(state.build).toBe(HASH_BUILD);
    expect(inner.calls()).toBeGreaterThan(0);
  });
});

describe('ingests through a store using it', () => {
  async function resumeOf(root: string, ref: string, engine: HashEngine, write: Buffer): Promise<{ resumes: unknown[]; digest: string }> {
    const resumes: unknown[] = [];
    const onResume = (m: unknown) => resumes.push(m);
    subscribe('containerkit:ingest:resume', onResume);
    try {
      const w = await openStore(root, { engine }).writer({ ref });
      await w.write(write);
      return { resumes, digest: await w.commit() };
    } finally {
      unsubscribe('containerkit:ingest:resume', onResume);
    }
  }

  it('a small ingest closed early keeps no checkpoint, and its resume re-hashes it from byte 0', async () => {
    const tmp = await makeTempDir('ck-small-');
    const root = join(tmp.dir, 's');
    const engine = new SmallFirstEngine();
    const data = randomBytes(10_000);
    const w = await openStore(root, { engine }).writer({ ref: 'small' });
    await w.write(data.subarray(0, 6000));
    await w.close();
    expect(readStatus(ingestPaths(root, 'small').status)?.checkpoint).toBeUndefined();
    const r = await resumeOf(root, 'small', engine, data.subarray(6000));
    expect(r.resumes).toEqual([{ alg: 'sha256', size: 6000, from: 0, checkpoint: false }]);
    expect(r.digest).toBe(`sha256:${createHash('sha256').update(data).digest('hex')}`);
  });

  it('a large ingest closed early is checkpointed as before, and resumes from the checkpoint', async () => {
    const tmp = await makeTempDir('ck-small-');
    const root = join(tmp.dir, 's');
    const engine = new SmallFirstEngine();
    const data = randomBytes(3 * SMALL_BYTES);
    const w = await openStore(root, { engine }).writer({ ref: 'large' });
    await w.write(data.subarray(0, 2 * SMALL_BYTES));
    await w.close();
    expect(readStatus(ingestPaths(root, 'large').status)?.checkpoint?.offset).toBe(2 * SMALL_BYTES);
    const r = await resumeOf(root, 'large', engine, data.subarray(2 * SMALL_BYTES));
    expect(r.resumes).toEqual([{ alg: 'sha256', size: 2 * SMALL_BYTES, from: 2 * SMALL_BYTES, checkpoint: true }]);
    expect(r.digest).toBe(`sha256:${createHash('sha256').update(data).digest('hex')}`);
  });
});
