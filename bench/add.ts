/**
 * Suite `add`: bulk ingest of local files.
 *
 * Targets (issue): "dist add 10,000 × 4 KiB with full durability (fsync file and dir): ≥ 2×
 * cacache.put (which does not fsync at all) and ≥ 0.8× the naive fsync store";
 * "dist add 16 × 64 MiB: ≥ 0.9× the two-worker node:crypto hashing limit, and ≥ cacache".
 *
 * Baselines in the same run, over the same files (each read from the page cache, like add):
 * cacache.put at concurrency 16 (default sha512 integrity, as npm uses it); the naive fsync
 * store (bench/lib/naive.ts) at concurrency 16. Measured: `dist add -r DIR` as a CLI process
 * (wall time, startup included) and the library's ingestFiles in-process. Each repetition
 * uses a fresh store; methods are interleaved per repetition; medians.
 */
import { mkdirSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import cacache from 'cacache';
import { ingestFiles } from '../src/bulk/ingest.js';
import { HashPool } from '../src/hash/pool.js';
import { openStore } from '../src/index.js';
import { KiB, mapLimit, mbps, median, MiB, now, removeTemp, row, runCli, tempDir, writeRandomFile, type Ctx, type Row, type Suite } from './lib/common.js';
import { NaiveStore } from './lib/naive.js';
import { sampleTwo } from './lib/limits.js';

type Method = 'cacache' | 'naive' | 'dist add' | 'ingestFiles' | 'disk';
const METHODS: Method[] = ['cacache', 'naive', 'dist add', 'ingestFiles'];

async function makeFiles(dir: string, count: number, size: number): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const files = Array.from({ length: count }, (_, i) => join(dir, `f${String(i).padStart(5, '0')}`));
  await mapLimit(files, 16, (f) => writeRandomFile(f, size));
  return files;
}

async function once(method: Method, dir: string, files: string[]): Promise<number> {
  const root = tempDir('add-store');
  try {
    const t = now();
    switch (method) {
      case 'cacache':
        await mapLimit(files, 16, async (f) => void (await cacache.put(root, f, await readFile(f))));
        break;
      case 'naive': {
        const s = new NaiveStore(root);
        await mapLimit(files, 16, async (f) => void (await s.put(await readFile(f))));
        break;
      }
      case 'disk':
        // Reference: the same bytes read, written and fsynced, with no hashing and no naming.
        mkdirSync(join(root, 'd'));
        await mapLimit(files, 16, async (f, i) => {
          const fh = await open(join(root, 'd', String(i)), 'w');
          try {
            const data = await readFile(f);
            let done = 0;
            while (done < data.byteLength) done += (await fh.write(data, done, data.byteLength - done)).bytesWritten;
            await fh.sync();
          } finally {
            await fh.close();
          }
        });
        break;
      case 'dist add':
        await runCli(root, ['add', '-r', dir], { maxStdout: 4096 });
        break;
      case 'ingestFiles': {
        const pool = new HashPool({ threads: 2 });
        try {
          let n = 0;
          for await (const _ of ingestFiles(openStore(root), [dir], { recursive: true, pool })) n++;
          if (n !== files.length) throw new Error(`ingestFiles yielded ${n} of ${files.length}`);
        } finally {
          await pool.close();
        }
        break;
      }
    }
    return now() - t;
  } finally {
    removeTemp(root);
  }
}

async function measure(ctx: Ctx, label: string, dir: string, files: string[], reps: number, limits?: number[]): Promise<Record<Method, number>> {
  const ms: Record<Method, number[]> = { cacache: [], naive: [], 'dist add': [], ingestFiles: [], disk: [] };
  const methods: Method[] = limits ? [...METHODS, 'disk'] : METHODS;
  for (let r = 0; r < reps; r++) {
    for (const m of methods) {
      // The hashing limit is sampled right before each run that is compared with it.
      if (limits && (m === 'dist add' || m === 'ingestFiles')) limits.push(await sampleTwo('native', 'sha256'));
      ms[m].push(await once(m, dir, files));
      ctx.log(`  ${label} ${m} #${r + 1}: ${ms[m][r].toFixed(0)} ms`);
    }
  }
  return Object.fromEntries(methods.map((m) => [m, median(ms[m])])) as Record<Method, number>;
}

async function run(ctx: Ctx): Promise<Row[]> {
  const S = 'add';
  const rows: Row[] = [];
  const smallN = ctx.quick ? 2000 : 10_000;
  const bigN = 16;
  const bigSize = ctx.quick ? 16 * MiB : 64 * MiB;
  const reps = ctx.quick ? 1 : 3;

  const dir = tempDir('add-src');
  try {
    const small = await makeFiles(join(dir, 'small'), smallN, 4 * KiB);
    const smallReps = ctx.quick ? 1 : 2;
    const sm = await measure(ctx, `${smallN}×4KiB`, join(dir, 'small'), small, smallReps);
    const rate = (ms: number) => (smallN * 1000) / ms;
    const sl = `${smallN.toLocaleString('en')} × 4 KiB`;
    const cac = { name: 'cacache.put ×16 (no fsync)', value: rate(sm.cacache) };
    const nai = { name: 'naive fsync store ×16', value: rate(sm.naive) };
    rows.push(row(S, `cacache.put ${sl}`, rate(sm.cacache), 'files/s', nai, undefined, 'baseline; ratio vs naive for reference'));
    rows.push(row(S, `naive fsync store ${sl}`, rate(sm.naive), 'files/s', cac, undefined, 'baseline; ratio vs cacache for reference'));
    rows.push(row(S, `dist add ${sl} (CLI)`, rate(sm['dist add']), 'files/s', cac, { on: 'ratio', goal: 'higher', limit: 2 }, `median of ${smallReps}; process wall time`));
    rows.push(row(S, `dist add ${sl} (CLI)`, rate(sm['dist add']), 'files/s', nai, { on: 'ratio', goal: 'higher', limit: 0.8 }));
    rows.push(row(S, `ingestFiles ${sl} (in-process)`, rate(sm.ingestFiles), 'files/s', cac, { on: 'ratio', goal: 'higher', limit: 2 }));
    rows.push(row(S, `ingestFiles ${sl} (in-process)`, rate(sm.ingestFiles), 'files/s', nai, { on: 'ratio', goal: 'higher', limit: 0.8 }));
    removeTemp(join(dir, 'small'));

    const big = await makeFiles(join(dir, 'big'), bigN, bigSize);
    const limits: number[] = [];
    const bm = await measure(ctx, `${bigN}×${bigSize / MiB}MiB`, join(dir, 'big'), big, reps, limits);
    const limit = median(limits);
    const bytes = bigN * bigSize;
    const bl = `${bigN} × ${bigSize / MiB} MiB`;
    const lim = { name: '2 workers node:crypto SHA-256 (in memory, adjacent)', value: limit };
    const cacB = { name: 'cacache.put ×16', value: mbps(bytes, bm.cacache) };
    rows.push(row(S, `cacache.put ${bl}`, mbps(bytes, bm.cacache), 'MB/s', lim, undefined, 'baseline (sha512 integrity, no fsync)'));
    rows.push(row(S, `naive fsync store ${bl}`, mbps(bytes, bm.naive), 'MB/s', lim, undefined, 'baseline'));
    rows.push(row(S, `dist add ${bl} (CLI)`, mbps(bytes, bm['dist add']), 'MB/s', lim, { on: 'ratio', goal: 'higher', limit: 0.9 }, `median of ${reps}; process wall time`));
    rows.push(row(S, `dist add ${bl} (CLI)`, mbps(bytes, bm['dist add']), 'MB/s', cacB, { on: 'ratio', goal: 'higher', limit: 1 }));
    rows.push(row(S, `ingestFiles ${bl} (in-process)`, mbps(bytes, bm.ingestFiles), 'MB/s', lim, { on: 'ratio', goal: 'higher', limit: 0.9 }));
    rows.push(row(S, `ingestFiles ${bl} (in-process)`, mbps(bytes, bm.ingestFiles), 'MB/s', cacB, { on: 'ratio', goal: 'higher', limit: 1 }));
    const disk = { name: 'plain copy: readFile + write + fsync ×16 (no hashing)', value: mbps(bytes, bm.disk) };
    rows.push(row(S, `dist add ${bl} (CLI)`, mbps(bytes, bm['dist add']), 'MB/s', disk, undefined, 'reference: the same bytes copied and fsynced without hashing or naming (libuv pool)'));
    rows.push(row(S, `plain copy + fsync ${bl}`, disk.value, 'MB/s', lim, undefined, 'reference: I/O-only copy vs the hashing limit'));
  } finally {
    removeTemp(dir);
  }
  return rows;
}

export const addSuite: Suite = { name: 'add', description: 'bulk add of local files vs cacache and a naive fsync store', run };
