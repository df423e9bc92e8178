/**
 * Suite `hash`: the hashing limits that are the baselines for everything else.
 * In memory, 1 MiB chunks cycled over a 64 MiB random buffer (512 MiB per figure; 128 MiB
 * with --quick); medians of 3 repetitions.
 */
import { createBLAKE3, createSHA256, createSHA512 } from 'hash-wasm';
import { HashPool } from '../src/hash/pool.js';
import { initState } from '../src/hash/wasm.js';
import { KiB, MiB, row, type Ctx, type Row, type Suite } from './lib/common.js';
import { benchPiscina, projectPoolWasm, singleThread, sourceBuffer, twoWorkers } from './lib/limits.js';
import { micro } from './lib/micro.js';

async function run(ctx: Ctx): Promise<Row[]> {
  const S = 'hash';
  const rows: Row[] = [];
  const nat256 = await singleThread(ctx, 'native', 'sha256');
  const wasm256 = await singleThread(ctx, 'wasm', 'sha256');
  const wasm512 = await singleThread(ctx, 'wasm', 'sha512');
  const nat512 = await singleThread(ctx, 'native', 'sha512');
  const wasmB3 = await singleThread(ctx, 'wasm', 'blake3');
  rows.push(row(S, 'node:crypto SHA-256, 1 thread', nat256, 'MB/s'));
  rows.push(row(S, 'hash-wasm SHA-256, 1 thread', wasm256, 'MB/s', { name: 'node:crypto SHA-256 1 thread', value: nat256 }));
  rows.push(row(S, 'node:crypto SHA-512, 1 thread', nat512, 'MB/s', { name: 'node:crypto SHA-256 1 thread', value: nat256 }));
  rows.push(row(S, 'hash-wasm SHA-512, 1 thread', wasm512, 'MB/s', { name: 'node:crypto SHA-512 1 thread', value: nat512 }));
  rows.push(row(S, 'hash-wasm BLAKE3, 1 thread', wasmB3, 'MB/s', { name: 'node:crypto SHA-256 1 thread', value: nat256 }));

  const two256 = await twoWorkers(ctx, 'native', 'sha256');
  const twoW256 = await twoWorkers(ctx, 'wasm', 'sha256');
  rows.push(row(S, '2 piscina workers node:crypto SHA-256', two256, 'MB/s', { name: 'node:crypto SHA-256 1 thread', value: nat256 }, undefined, 'bench worker, in memory; ratio = scaling (2.0 ideal)'));
  rows.push(row(S, '2 piscina workers hash-wasm SHA-256', twoW256, 'MB/s', { name: 'hash-wasm SHA-256 1 thread', value: wasm256 }, undefined, 'ratio = scaling (2.0 ideal)'));
  const pool256 = await projectPoolWasm(ctx, 'sha256');
  rows.push(
    row(S, 'HashPool.update (2 threads) hash-wasm SHA-256, 2 chains', pool256, 'MB/s', { name: '2 piscina workers hash-wasm', value: twoW256 }, undefined,
      'src/hash/pool.ts: 1 MiB chunks, slab copy + round trip + save/load per chunk; ratio = pool efficiency'),
  );

  // save()/load() cost and state size, against hashing one 64 KiB and one 1 MiB chunk.
  const data = sourceBuffer();
  const hashers = { sha256: await createSHA256(), sha512: await createSHA512(), blake3: await createBLAKE3() };
  const states: Record<string, Uint8Array> = {};
  for (const [alg, h] of Object.entries(hashers)) {
    h.init();
    h.update(data.subarray(0, 100_000));
    states[alg] = h.save();
  }
  const h256 = hashers.sha256;
  const m = await micro(
    {
      ...Object.fromEntries(Object.entries(hashers).flatMap(([alg, h]) => [
        [`${alg} save`, () => void h.save()],
        [`${alg} load`, () => void h.load(states[alg])],
      ])),
      'sha256 update 64 KiB': () => void h256.update(data.subarray(0, 64 * KiB)),
      'sha256 update 1 MiB': () => void h256.update(data.subarray(0, MiB)),
    },
    { time: ctx.quick ? 200 : 500 },
  );
  const upd1m = m['sha256 update 1 MiB'].p50 * 1000;
  for (const alg of Object.keys(hashers)) {
    rows.push(row(S, `hash-wasm ${alg} save() p50`, m[`${alg} save`].p50 * 1000, 'µs', { name: 'hash-wasm sha256 update(1 MiB) p50', value: upd1m }));
    rows.push(row(S, `hash-wasm ${alg} load() p50`, m[`${alg} load`].p50 * 1000, 'µs', { name: 'hash-wasm sha256 update(1 MiB) p50', value: upd1m }));
    rows.push(row(S, `hash-wasm ${alg} state size`, states[alg].byteLength, 'B'));
  }

  // Round trips: bare piscina (bench worker, no-op) and the project's pool with a 1-byte update.
  const p = benchPiscina(2);
  const pool = new HashPool({ threads: 1 });
  try {
    const one = new Uint8Array(1);
    let st = await initState('sha256');
    st = await pool.update(st, one);
    const rt = await micro(
      {
        'piscina no-op round trip': async () => void (await p.run({ op: 'noop' })),
        'HashPool.update(1 byte) round trip': async () => void (st = await pool.update(st, one)),
      },
      { time: ctx.quick ? 300 : 1000 },
    );
    const upd64 = m['sha256 update 64 KiB'].p50 * 1000;
    rows.push(row(S, 'piscina round trip p50 (no-op task)', rt['piscina no-op round trip'].p50 * 1000, 'µs', { name: 'hash-wasm sha256 update(64 KiB) inline', value: upd64 }, undefined,
      'ratio < 1 would mean sending a 64 KiB chunk to a worker costs less than hashing it inline'));
    rows.push(row(S, 'piscina round trip p99 (no-op task)', rt['piscina no-op round trip'].p99 * 1000, 'µs', { name: 'hash-wasm sha256 update(64 KiB) inline', value: upd64 }));
    rows.push(row(S, 'HashPool.update(1 byte) round trip p50', rt['HashPool.update(1 byte) round trip'].p50 * 1000, 'µs', { name: 'piscina no-op round trip p50', value: rt['piscina no-op round trip'].p50 * 1000 }));
  } finally {
    await pool.close();
  }
  return rows;
}

export const hashSuite: Suite = { name: 'hash', description: 'hashing limits (baselines for everything else)', run };
