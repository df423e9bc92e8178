/**
 * Suite `verify`: `dist verify` MB/s over 1 GiB of blobs (16 × 64 MiB; 16 × 16 MiB with
 * --quick), as a CLI process (median of 3), against the two-worker node:crypto hashing limit
 * (in memory) from the same run. The blobs were just written, so they are read from the page
 * cache, like the limit's in-memory data. No target is set by the issues.
 */
import { join } from 'node:path';
import { mapLimit, mbps, median, MiB, removeTemp, row, runCli, tempDir, writeRandomFile, type Ctx, type Row, type Suite } from './lib/common.js';
import { sampleTwo } from './lib/limits.js';

async function run(ctx: Ctx): Promise<Row[]> {
  const S = 'verify';
  const n = 16;
  const size = ctx.quick ? 16 * MiB : 64 * MiB;
  const base = tempDir('verify');
  try {
    const src = join(base, 'src');
    const root = join(base, 'store');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(src);
    await mapLimit(Array.from({ length: n }, (_, i) => join(src, `b${i}`)), 4, (f) => writeRandomFile(f, size));
    await runCli(root, ['add', '-r', src], { maxStdout: 4096 });
    removeTemp(src);
    const ms: number[] = [];
    const limits: number[] = [];
    for (let r = 0; r < (ctx.quick ? 1 : 3); r++) {
      limits.push(await sampleTwo('native', 'sha256'));
      const res = await runCli(root, ['verify']);
      ms.push(res.ms);
    }
    const bytes = n * size;
    const limit = median(limits);
    return [
      row(S, `dist verify ${n} × ${size / MiB} MiB (CLI)`, mbps(bytes, median(ms)), 'MB/s', { name: '2 workers node:crypto SHA-256 (in memory, adjacent)', value: limit }, undefined,
        `median of ${ms.length}; process wall time; limit sampled right before each run; no issue target`),
    ];
  } finally {
    removeTemp(base);
  }
}

export const verifySuite: Suite = { name: 'verify', description: 'dist verify throughput vs the hashing limit', run };
