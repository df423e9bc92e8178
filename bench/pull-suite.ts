/**
 * Suite `pull`: wraps bench/pull.ts, which measures `dist pull` against `skopeo copy` from a
 * local registry in alternating pairs in the same run. Loaded lazily so that a missing
 * registry/skopeo only fails this suite.
 */
import { row, type Ctx, type Row, type Suite } from './lib/common.js';
import type { PullRow } from './pull.js';

async function run(ctx: Ctx): Promise<Row[]> {
  if (ctx.quick && !process.env.PULL_BENCH_REPS) process.env.PULL_BENCH_REPS = '3';
  const mod = (await import(new URL('./pull.js', import.meta.url).href)) as {
    runPullBench?: (log: (m: string) => void) => Promise<{ rows: PullRow[]; reps: number; imageBytes: number }>;
  };
  if (typeof mod.runPullBench !== 'function') throw new Error('bench/pull.ts does not export runPullBench');
  const r = await mod.runPullBench((m) => ctx.log(`  ${m}`));
  return r.rows.map((p) => {
    const target = p.figure.startsWith('dist pull (cold') ? { on: 'ratio' as const, goal: 'lower' as const, limit: 0.6 } : undefined;
    // A BEFORE row (BENCH_BEFORE_CLI) is reported against the same runs, without a target.
    const x = row('pull', `${p.figure} (${(r.imageBytes / 2 ** 20).toFixed(0)} MiB image)`, p.ms, 'ms', { name: p.baseline, value: p.baselineMs }, target,
      `ratio = median of ${r.reps} per-pair ratios [${p.ratios.join(', ')}], pairs alternate which runs first; ` +
        `CPU ${p.cpuMs ?? '?'} vs ${p.baselineCpuMs ?? '?'} ms, peak RSS ${p.rssMiB ?? '?'} vs ${p.baselineRssMiB ?? '?'} MiB (medians); ` +
        `load average ${Math.min(...p.loads).toFixed(2)}–${Math.max(...p.loads).toFixed(2)} at the pairs' start`);
    x.ratio = p.ratio;
    if (target) x.met = p.ratio <= target.limit;
    return x;
  });
}

export const pullSuite: Suite = { name: 'pull', description: 'dist pull vs skopeo copy, alternating pairs (bench/pull.ts)', run };
