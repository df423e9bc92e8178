/**
 * The hashing pool (src/hash/pool.ts) and the hybrid engine (src/hash/engine.ts), with real
 * worker threads running the compiled workers (dist/workers; `npm run build` first).
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { blake3 } from 'hash-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Algorithm } from '../src/digest.js';
import { ContentError } from '../src/errors.js';
import { HybridHashEngine, INLINE_THRESHOLD, fileHashMode } from '../src/hash/engine.js';
import { HashPool, MAX_PIECE, resolveThreads, shareCopy, workerFile } from '../src/hash/pool.js';
import { digestWith, hasher, initState, updateWith } from '../src/hash/wasm.js';
import { randomBytes } from './helpers/bytes.js';
import { expectError } from './helpers/errors.js';
import { cleanupAll, makeTempDir } from './helpers/tmp.js';

const ALGS: Algorithm[] = ['sha256', 'sha512', 'blake3'];

async function reference(alg: Algorithm, data: Uint8Array): Promise<string> {
  if (alg === 'blake3') return `blake3:${await blake3(data)}`;
  return `${alg}:${createHash(alg).update(data).digest('hex')}`;
}

const pools: HashPool[] = [];
function pool(options: ConstructorParameters<typeof HashPool>[0]): HashPool {
  const p = new HashPool({ idleTimeoutMs: 500, ...options });
  pools.push(p);
  return p;
}

afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
  await cleanupAll();
});

describe('worker location', () => {
  it('finds the compiled worker from the TS sources', () => {
    expect(workerFile('hash-update')).toMatch(/dist[/\\]workers[/\\]hash-update\.js$/);
  });
});

describe('pool size', () => {
  it('defaults to available parallelism, overridden by DIST_JOBS, overridden by the option', async () => {
    const { availableParallelism } = await import('node:os');
    expect(resolveThreads(undefined, {})).toBe(availableParallelism());
    expect(resolveThreads(undefined, { DIST_JOBS: '3' })).toBe(3);
    expect(resolveThreads(5, { DIST_JOBS: '3' })).toBe(5);
    await expectError(() => resolveThreads(undefined, { DIST_JOBS: 'lots' }), 'InvalidArgument', 'ERR_INVALID_JOBS');
    await expectError(() => resolveThreads(0), 'InvalidArgument', 'ERR_INVALID_JOBS');
  });

  it('starts lazily: no workers until the first task', async () => {
    const p = pool({ threads: 1 });
    expect(p.started).toBe(false);
    await p.update(await initState('sha256'), randomBytes(1024));
    expect(p.started).toBe(true);
  });
});

describe('portable hash state', () => {
  let a: HashPool;
  let b: HashPool;
  beforeAll(() => {
    // Two single-thread pools: a state saved by A's worker is necessarily continued by
    // another thread when it goes to B.
    a = pool({ threads: 1 });
    b = pool({ threads: 1 });
  });

  for (const alg of ALGS) {
    it(`${alg}: state from worker A continued in worker B, then inline, gives the right digest`, async () => {
      const data = randomBytes(3 * 1024 * 1024 + 12345);
      const cut1 = 1024 * 1024 + 7;
      const cut2 = data.length - 1000;
      let s = await initState(alg);
      s = await a.update(s, data.subarray(0, cut1));
      expect(s.offset).toBe(cut1);
      s = await b.update(s, data.subarray(cut1, cut2));
      s = updateWith(await hasher(alg), s, data.subarray(cut2));
      expect(s.offset).toBe(data.length);
      expect(digestWith(await hasher(alg), s)).toBe(await reference(alg, data));
    });
  }

  it('blake3 matches the published test vector', async () => {
    let s = await initState('blake3');
    s = await a.update(s, new TextEncoder().encode('abc'));
    expect(digestWith(await hasher('blake3'), s)).toBe('blake3:6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85');
  });

  it('interleaved ingests on a shared pool all come out right', async () => {
    const p = pool({ threads: 2 });
    const inputs = ALGS.flatMap((alg) => [0, 1].map(() => ({ alg, data: randomBytes(2 * 1024 * 1024) })));
    const digests = await Promise.all(
      inputs.map(async ({ alg, data }) => {
        let s = await initState(alg);
        for (let at = 0; at < data.length; at += 256 * 1024) s = await p.update(s, data.subarray(at, at + 256 * 1024));
        return digestWith(await hasher(alg), s);
      }),
    );
    expect(digests).toEqual(await Promise.all(inputs.map(({ alg, data }) => reference(alg, data))));
  });

  it('splits chunks larger than MAX_PIECE and does not detach or change the caller\'s buffer', async () => {
    const p = pool({ threads: 1 });
    const parent = randomBytes(MAX_PIECE * 2 + 100);
    const before = createHash('sha256').update(parent).digest('hex');
    const chunk = parent.subarray(50, parent.length - 50);
    const s = await p.update(await initState('sha256'), chunk);
    expect(digestWith(await hasher('sha256'), s)).toBe(await reference('sha256', chunk));
    expect(parent.byteLength).toBe(MAX_PIECE * 2 + 100);
    expect(createHash('sha256').update(parent).digest('hex')).toBe(before);
  });

  it('shares chunks as exact-size SharedArrayBuffers, never the parent buffer', () => {
    const parent = randomBytes(1 << 20);
    const view = shareCopy(parent.subarray(100, 200));
    expect(view.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(view.buffer.byteLength).toBe(100);
    expect(shareCopy(view)).toBe(view);
  });
});

describe('bounded queue', () => {
  it('admits at most threads + maxQueue tasks; the rest wait (backpressure)', async () => {
    const p = pool({ threads: 1, maxQueue: 2 });
    let prepared = 0;
    const state = await initState('sha256');
    const data = randomBytes(2 * 1024 * 1024);
    const tasks = Array.from({ length: 12 }, () =>
      p.run('hash-update', () => {
        prepared++;
        return { ...state, data: shareCopy(data) };
      }),
    );
    await new Promise((r) => setImmediate(r));
    // Only admitted tasks materialise their buffers: memory is bounded by the limit.
    expect(prepared).toBe(3);
    expect(p.stats()).toMatchObject({ admitted: 3, waiting: 9, limit: 3 });
    await Promise.all(tasks);
    expect(prepared).toBe(12);
    expect(p.stats()).toMatchObject({ admitted: 0, waiting: 0, peakAdmitted: 3 });
  });

  it('close() rejects waiting callers with Canceled', async () => {
    const p = new HashPool({ threads: 1, maxQueue: 0 });
    const state = await initState('sha256');
    const data = randomBytes(8 * 1024 * 1024);
    const first = p.update(state, data);
    const second = p.update(state, data);
    await new Promise((r) => setImmediate(r));
    const closing = p.close();
    await expectError(second, 'Canceled', 'ERR_POOL_CLOSED');
    await first.catch(() => {}); // destroyed mid-task: either outcome is fine
    await closing;
  });
});

describe('errors cross the worker boundary with class, kind and code', () => {
  it('an incompatible hash state is FailedPrecondition', async () => {
    const p = pool({ threads: 1 });
    const state = { ...(await initState('sha256')), build: 'hash-wasm@0.0.0' };
    const err = await expectError(p.update(state, randomBytes(INLINE_THRESHOLD)), 'FailedPrecondition', 'ERR_HASH_STATE_INCOMPATIBLE');
    expect(err).toBeInstanceOf(ContentError);
    expect(err.details).toMatchObject({ actual: 'hash-wasm@0.0.0' });
    expect(err.exitCode).toBe(6);
  });

  it('hashing a directory is InvalidArgument; a missing file keeps its errno', async () => {
    const tmp = await makeTempDir();
    const p = pool({ threads: 1 });
    await expectError(p.hashFile(tmp.dir, 'sha256', 'native'), 'InvalidArgument', 'ERR_NOT_A_FILE');
    const missing = await expectError(p.hashFile(join(tmp.dir, 'nope'), 'sha256', 'native'), 'Internal', 'ERR_SYSTEM_ENOENT');
    expect(missing.details.errno).toBe('ENOENT');
  });
});

describe('whole-file hashing', () => {
  it('native and wasm agree for every algorithm (blake3 is always wasm)', async () => {
    const tmp = await makeTempDir();
    const p = pool({ threads: 2 });
    const data = randomBytes(3 * 1024 * 1024 + 1);
    const file = join(tmp.dir, 'f');
    await mkdir(tmp.dir, { recursive: true });
    await writeFile(file, data);
    for (const alg of ALGS) {
      const native = await p.hashFile(file, alg, 'native');
      const wasm = await p.hashFile(file, alg, 'wasm');
      expect(native).toEqual({ digest: await reference(alg, data), size: data.length });
      expect(wasm).toEqual(native);
    }
    expect(fileHashMode('blake3', 'native')).toBe('wasm');
    expect(fileHashMode('sha256')).toBe('native');
    expect(fileHashMode('sha512', 'wasm')).toBe('wasm');
  });
});

describe('hybrid engine', () => {
  it('hashes small chunks inline and large ones in the pool, with one result', async () => {
    const p = pool({ threads: 1 });
    const engine = new HybridHashEngine(p);
    const data = randomBytes(5 * INLINE_THRESHOLD);
    let s = await engine.init('sha512');
    s = await engine.update(s, data.subarray(0, 100)); // inline
    expect(p.started).toBe(false);
    s = await engine.update(s, data.subarray(100, 100 + 2 * INLINE_THRESHOLD)); // pool
    expect(p.started).toBe(true);
    s = await engine.update(s, data.subarray(100 + 2 * INLINE_THRESHOLD));
    expect(await engine.digest(s)).toBe(await reference('sha512', data));
  });
});
