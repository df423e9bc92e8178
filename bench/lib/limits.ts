/**
 * The hashing limits: the baselines for everything else. Memoised per run (ctx.memo), so a
 * suite run alone still measures its own baseline in the same run, and a full run measures
 * each once.
 */
import { createHash, randomFillSync } from 'node:crypto';
import { createBLAKE3, createSHA256, createSHA512, type IHasher } from 'hash-wasm';
import { Piscina } from 'piscina';
import { HashPool } from '../../src/hash/pool.js';
import { initState } from '../../src/hash/wasm.js';
import { benchScript, median, MiB, mbps, now, type Ctx } from './common.js';

export type Impl = 'native' | 'wasm';
export type Alg = 'sha256' | 'sha512' | 'blake3';

const CHUNK = MiB;
/** Source data cycled through: larger than the caches, so memory bandwidth is included. */
const BUF_BYTES = 64 * MiB;

let shared: Uint8Array | undefined;
export function sourceBuffer(): Uint8Array {
  if (!shared) {
    shared = new Uint8Array(new SharedArrayBuffer(BUF_BYTES));
    for (let at = 0; at < BUF_BYTES; at += 16 * MiB) randomFillSync(shared.subarray(at, at + 16 * MiB));
  }
  return shared;
}

export function hashBytes(ctx: Ctx): number {
  return ctx.quick ? 128 * MiB : 512 * MiB;
}
export function reps(ctx: Ctx): number {
  return ctx.quick ? 1 : 3;
}

async function wasmHasher(alg: Alg): Promise<IHasher> {
  return alg === 'sha256' ? createSHA256() : alg === 'sha512' ? createSHA512() : createBLAKE3();
}

/**
 * One un-memoised sample of the single-thread in-memory rate (MB/s): taken right next to a
 * measured run, so that both see the same machine load (this machine is shared).
 */
export async function sampleSingle(impl: Impl, alg: Alg, total = 128 * MiB): Promise<number> {
  const data = sourceBuffer();
  const h = impl === 'wasm' ? await wasmHasher(alg) : undefined;
  const t = now();
  if (h) {
    h.init();
    for (let done = 0; done < total; done += CHUNK) h.update(data.subarray(done % data.byteLength, (done % data.byteLength) + CHUNK));
    h.digest();
  } else {
    const nh = createHash(alg);
    for (let done = 0; done < total; done += CHUNK) nh.update(data.subarray(done % data.byteLength, (done % data.byteLength) + CHUNK));
    nh.digest();
  }
  return mbps(total, now() - t);
}

/** One un-memoised sample of the two-worker in-memory rate (MB/s), see sampleSingle. */
export async function sampleTwo(impl: Impl, alg: Alg, total = 256 * MiB): Promise<number> {
  const data = sourceBuffer();
  const p = benchPiscina(2);
  await Promise.all([0, 1].map(() => p.run({ op: 'hash', impl, alg, buf: data.buffer, bytes: CHUNK, chunk: CHUNK })));
  const t = now();
  await Promise.all([0, 1].map(() => p.run({ op: 'hash', impl, alg, buf: data.buffer, bytes: total / 2, chunk: CHUNK })));
  return mbps(total, now() - t);
}

/** One thread, in memory, 1 MiB chunks: MB/s (median of reps). */
export async function singleThread(ctx: Ctx, impl: Impl, alg: Alg): Promise<number> {
  return ctx.memo(`single:${impl}:${alg}`, async () => {
    const data = sourceBuffer();
    const total = hashBytes(ctx);
    const h = impl === 'wasm' ? await wasmHasher(alg) : undefined;
    const times: number[] = [];
    for (let r = 0; r < reps(ctx); r++) {
      const t = now();
      if (h) {
        h.init();
        for (let done = 0; done < total; done += CHUNK) {
          const at = done % data.byteLength;
          h.update(data.subarray(at, at + CHUNK));
        }
        h.digest();
      } else {
        const nh = createHash(alg);
        for (let done = 0; done < total; done += CHUNK) {
          const at = done % data.byteLength;
          nh.update(data.subarray(at, at + CHUNK));
        }
        nh.digest();
      }
      times.push(now() - t);
    }
    const rate = mbps(total, median(times));
    ctx.log(`  limit: 1 thread ${impl} ${alg}: ${rate.toFixed(0)} MB/s`);
    return rate;
  });
}

let piscina: Piscina | undefined;
export function benchPiscina(threads = 2): Piscina {
  piscina ??= new Piscina({ filename: benchScript('workers/hash-mem.js'), minThreads: threads, maxThreads: threads, idleTimeout: 60_000 });
  return piscina;
}
export async function closeBenchPiscina(): Promise<void> {
  const p = piscina;
  piscina = undefined;
  if (p) await p.destroy();
}

/**
 * Two piscina workers (bench/workers/hash-mem.ts), in memory: each hashes half the bytes as
 * one stream. MB/s of both together (median of reps).
 */
export async function twoWorkers(ctx: Ctx, impl: Impl, alg: Alg = 'sha256'): Promise<number> {
  return ctx.memo(`two:${impl}:${alg}`, async () => {
    const data = sourceBuffer();
    const total = hashBytes(ctx);
    const p = benchPiscina(2);
    // warm both workers (and their wasm modules)
    await Promise.all([0, 1].map(() => p.run({ op: 'hash', impl, alg, buf: data.buffer, bytes: CHUNK, chunk: CHUNK })));
    const times: number[] = [];
    for (let r = 0; r < reps(ctx); r++) {
      const t = now();
      await Promise.all([0, 1].map(() => p.run({ op: 'hash', impl, alg, buf: data.buffer, bytes: total / 2, chunk: CHUNK })));
      times.push(now() - t);
    }
    const rate = mbps(total, median(times));
    ctx.log(`  limit: 2 workers ${impl} ${alg}: ${rate.toFixed(0)} MB/s`);
    return rate;
  });
}

/**
 * The project's pool (src/hash/pool.ts, 2 threads): two independent ingest hash chains, each
 * sending 1 MiB chunks through HashPool.update (slab copy + piscina round trip + wasm
 * save/load per chunk). MB/s of both together.
 */
export async function projectPoolWasm(ctx: Ctx, alg: Alg = 'sha256'): Promise<number> {
  return ctx.memo(`pool:wasm:${alg}`, async () => {
    const data = sourceBuffer();
    const total = hashBytes(ctx);
    const pool = new HashPool({ threads: 2 });
    try {
      const chain = async (bytes: number) => {
        let s = await initState(alg);
        for (let done = 0; done < bytes; done += CHUNK) {
          const at = done % data.byteLength;
          s = await pool.update(s, data.subarray(at, at + CHUNK));
        }
        return s;
      };
      await Promise.all([chain(2 * CHUNK), chain(2 * CHUNK)]);
      const times: number[] = [];
      for (let r = 0; r < reps(ctx); r++) {
        const t = now();
        await Promise.all([chain(total / 2), chain(total / 2)]);
        times.push(now() - t);
      }
      const rate = mbps(total, median(times));
      ctx.log(`  limit: project pool (2 threads) wasm ${alg}, 2 chains: ${rate.toFixed(0)} MB/s`);
      return rate;
    } finally {
      await pool.close();
    }
  });
}

/** The hash-wasm SHA-256 single-thread in-memory rate: the stream suite's baseline. */
export const wasmSha256 = (ctx: Ctx) => singleThread(ctx, 'wasm', 'sha256');
/** The two-worker node:crypto SHA-256 rate: the add/verify suites' hashing limit. */
export const twoWorkerNativeSha256 = (ctx: Ctx) => twoWorkers(ctx, 'native', 'sha256');
