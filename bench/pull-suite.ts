/**
 * Suite `pull`: wraps bench/pull.ts (owned by the pull work; imported, not edited), which
 * measures `dist pull` against `skopeo copy` from a local registry in the same run. Loaded
 * lazily so that a missing registry/skopeo only fails this suite.
 */
import { row, type Ctx, type Row, type Suite } from './lib/common.js';

interface PullRow {
  figure: string;
  ms: number;
  MBps: number;
  baseline: string;
  baselineMs: number;
  baselineMBps: number;
  ratio: number;
}

async function run(ctx: Ctx): Promise<Row[]> {
  if (ctx.quick && !process.env.PULL_BENCH_REPS) process.env.PULL_BENCH_REPS = '1';
  const mod = (await import(new URL('./pull.js', import.meta.url).href)) as {
    runPullBench?: (log: (m: string) => void) => Promise<{ rows: PullRow[]; reps: number; imageBytes: number }>;
  };
  if (typeof mod.runPullBench !== 'function') throw new Error('bench/pull.ts does not export runPullBench');
  const r = await mod.runPullBench((m) => ctx.log(`  ${m}`));
  return r.rows.map((p) =>
    row('pull', `${p.figure} (${(r.imageBytes / 2 ** 20).toFixed(0)} MiB image)`, p.ms, 'ms', { name: p.baseline, value: p.baselineMs },
      p.figure.startsWith('dist pull (cold') ? { on: 'ratio', goal: 'lower', limit: 0.6 } : undefined,
      `median of ${r.reps}; ${p.MBps} MB/s vs ${p.baselineMBps} MB/s; ratio = time ratio (lower is better)`),
  );
}

export const pullSuite: Suite = { name: 'pull', description: 'dist pull vs skopeo copy (bench/pull.ts)', run };
