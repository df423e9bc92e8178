/**
 * Pull benchmark (issue 14): the 256 MiB image (test/registry/helpers/big-image.ts, four
 * 64 MiB layers) from a local registry, `dist pull` against `skopeo copy docker://… oci:…`,
 * both whole CLI processes, in PULL_BENCH_REPS (default 5) alternating pairs: pair i runs
 * dist first when i is even, skopeo first when odd, so a drift in the shared machine's load
 * hits both sides alike. Each figure is the median of the per-pair ratios, with the 1-minute
 * load average at each pair's start, the CPU time (user + sys) and peak RSS of each process
 * (GNU time -v). `sync` before each timed run: no run pays for the previous one's writeback.
 *
 * Figures: cold (empty store / empty layout; dist's default --hash native, then --hash wasm)
 * and warm (every blob already there). Target: cold ratio ≤ 0.6.
 *
 * BENCH_BEFORE_CLI=/path/to/an/older/dist/src/cli/main.js adds that build's cold pull to every
 * pair of the first figure (run between the two), for a before/after in the same pairs.
 *
 *   node dist/bench/pull.js            # standalone (after npm run build)
 *   runPullBench()                     # from a suite runner (bench/pull-suite.ts)
 */
import { execFileSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { bigImage } from '../test/registry/helpers/big-image.js';
import { imageBytes } from '../test/registry/helpers/image.js';
import { pushImage } from '../test/registry/helpers/push.js';
import { startRegistry } from '../test/registry/helpers/registry.js';
import { distCli, median, removeTemp, runProc, tempDir, type ProcResult } from './lib/common.js';

export interface PullRow {
  figure: string;
  /** Medians over the pairs. */
  ms: number;
  MBps: number;
  cpuMs?: number;
  rssMiB?: number;
  baseline: string;
  baselineMs: number;
  baselineMBps: number;
  baselineCpuMs?: number;
  baselineRssMiB?: number;
  /** Median of the per-pair time ratios (lower is better). */
  ratio: number;
  ratios: number[];
  loads: number[];
}

interface Sample {
  ms: number;
  cpuMs?: number;
  rss?: number;
}

async function timedProc(cmd: string, args: string[], what: string): Promise<Sample> {
  execFileSync('sync');
  const r: ProcResult = await runProc(cmd, args, { rss: true });
  if (r.code !== 0) throw new Error(`${what}: exit ${r.code ?? r.signal}: ${r.stderr.slice(0, 1000)}`);
  return { ms: r.ms, cpuMs: r.cpuMs, rss: r.peakRss };
}

/**
 * Runs `n` pairs of (ours, theirs), alternating which goes first, with `extra` (if any) run
 * between the two; `after` runs untimed after each pair.
 */
async function pairs(n: number, ours: (i: number) => Promise<Sample>, theirs: (i: number) => Promise<Sample>, after?: (i: number) => Promise<void>, extra?: (i: number) => Promise<Sample>) {
  const out = { ours: [] as Sample[], theirs: [] as Sample[], extra: [] as Sample[], loads: [] as number[] };
  for (let i = 0; i < n; i++) {
    out.loads.push(loadavg()[0]);
    if (i % 2 === 0) {
      out.ours.push(await ours(i));
      if (extra) out.extra.push(await extra(i));
      out.theirs.push(await theirs(i));
    } else {
      out.theirs.push(await theirs(i));
      if (extra) out.extra.push(await extra(i));
      out.ours.push(await ours(i));
    }
    await after?.(i);
  }
  return out;
}

export async function runPullBench(log: (msg: string) => void = console.log): Promise<{ imageBytes: number; reps: number; skopeo: string; rows: PullRow[]; target: string }> {
  const reps = Math.max(1, Number(process.env.PULL_BENCH_REPS) || 5);
  const reg = await startRegistry();
  const tmp = tempDir('pull');
  try {
    const img = await bigImage('bench');
    await pushImage({ host: reg.host }, 'bench/img', 'v1', img);
    const name = `${reg.host}/bench/img:v1`;
    const bytes = imageBytes(img);
    const skopeoVersion = execFileSync('skopeo', ['--version'], { encoding: 'utf8' }).trim();
    log(`image: ${(bytes / 2 ** 20).toFixed(1)} MiB in ${img.layers.length} layers; ${reps} alternating pairs per figure; ${skopeoVersion}`);

    const d = (k: string, i: number) => join(tmp, `${k}-${i}`);
    const dist = (root: string, extra: string[] = [], cli = distCli) =>
      timedProc(process.execPath, [cli, '--root', root, 'pull', '--plain-http', ...extra, name], 'dist pull');
    const before = process.env.BENCH_BEFORE_CLI;
    const skopeo = (layout: string) => timedProc('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${name}`, `oci:${layout}:${name}`], 'skopeo copy');
    const clean = (...keys: string[]) => async (i: number) => {
      await Promise.all(keys.map((k) => rm(d(k, i), { recursive: true, force: true })));
    };

    const mbps = (ms: number) => Number((bytes / 1e6 / (ms / 1000)).toFixed(1));
    const med = (xs: Array<number | undefined>) => {
      const v = xs.filter((x): x is number => x !== undefined);
      return v.length ? median(v) : undefined;
    };
    const summarise = (figure: string, baseline: string, p: Awaited<ReturnType<typeof pairs>>): PullRow => {
      const ratios = p.ours.map((o, i) => o.ms / p.theirs[i]!.ms);
      const ms = median(p.ours.map((s) => s.ms));
      const baselineMs = median(p.theirs.map((s) => s.ms));
      const rss = med(p.ours.map((s) => s.rss));
      const brss = med(p.theirs.map((s) => s.rss));
      const r: PullRow = {
        figure, ms: Math.round(ms), MBps: mbps(ms), cpuMs: med(p.ours.map((s) => s.cpuMs && Math.round(s.cpuMs))), rssMiB: rss && Math.round(rss / 2 ** 20),
        baseline, baselineMs: Math.round(baselineMs), baselineMBps: mbps(baselineMs), baselineCpuMs: med(p.theirs.map((s) => s.cpuMs && Math.round(s.cpuMs))), baselineRssMiB: brss && Math.round(brss / 2 ** 20),
        ratio: Number(median(ratios).toFixed(2)), ratios: ratios.map((x) => Number(x.toFixed(2))), loads: p.loads.map((x) => Number(x.toFixed(2))),
      };
      log(`${figure.padEnd(44)} ${String(r.ms).padStart(6)} ms (CPU ${r.cpuMs ?? '?'} ms, ${r.rssMiB ?? '?'} MiB)  vs ${baseline} ${r.baselineMs} ms (CPU ${r.baselineCpuMs ?? '?'} ms, ${r.baselineRssMiB ?? '?'} MiB)  ratio ${r.ratio}× [${r.ratios.join(', ')}] load ${r.loads.join(', ')}`);
      return r;
    };

    const rows: PullRow[] = [];
    // Cold, default engine: the figure with the target.
    const cold = await pairs(reps, (i) => dist(d('dist', i)), (i) => skopeo(d('skopeo', i)), clean('dist', 'skopeo', 'before'), before ? (i) => dist(d('before', i), [], before) : undefined);
    rows.push(summarise('dist pull (cold, CLI, --hash native default)', 'skopeo copy (cold)', cold));
    if (before) rows.push(summarise(`BEFORE (${before}): dist pull (cold, CLI)`, 'skopeo copy (cold)', { ...cold, ours: cold.extra }));
    rows.push(summarise('dist pull --hash wasm (cold, CLI)', 'skopeo copy (cold)',
      await pairs(reps, (i) => dist(d('wasm', i), ['--hash', 'wasm']), (i) => skopeo(d('skopeo', i)), clean('wasm', 'skopeo'))));
    // Warm: one untimed pull fills each side, then every pair pulls again.
    await dist(d('warm-dist', 0));
    await skopeo(d('warm-skopeo', 0));
    rows.push(summarise('dist pull (warm: every blob present, CLI)', 'skopeo copy (warm)',
      await pairs(reps, () => dist(d('warm-dist', 0)), () => skopeo(d('warm-skopeo', 0)))));
    return { imageBytes: bytes, reps, skopeo: skopeoVersion, rows, target: 'dist pull (cold, CLI) / skopeo copy (cold) ≤ 0.6 (median of per-pair ratios)' };
  } finally {
    await reg.stop();
    removeTemp(tmp);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runPullBench().then(
    (r) => console.log(JSON.stringify(r)),
    (err) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
