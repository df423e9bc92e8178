/**
 * Suite `ingest-limits` (issue 14): one large file on stdin, `dist ingest` as a whole process
 * against the machine's limits measured as whole processes in the same run, in alternating
 * pairs (even pairs run dist first, odd pairs last; `sync` before each run), median of the
 * per-pair ratios, with the load average at each pair's start.
 *
 * - `dist ingest --hash native < F` against `dd if=F of=G bs=1M conv=fdatasync` (the disk
 *   limit: read, write, one fdatasync) and `openssl dgst -sha256 F` (the hashing limit).
 *   Target: ≤ 1.2× dd.
 * - `dist ingest < F` (wasm, the default) against one thread of hash-wasm SHA-256 over the
 *   file (bench/lib/wasm-sha256-file.ts). Target: ≥ 0.9× its speed (time ratio ≤ 1/0.9).
 *
 * 1 GiB (256 MiB with --quick); 5 pairs (3 with --quick), INGEST_LIMITS_PAIRS overrides.
 * BENCH_BEFORE_CLI=/path/to/an/older/dist/src/cli/main.js adds that build to every pair (run
 * between the others), for a before/after against the same baselines in the same run.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { benchScript, distCli, GiB, median, MiB, removeTemp, row, runProc, tempDir, writeRandomFile, type Ctx, type Row, type Suite } from './lib/common.js';

const S = 'ingest-limits';

interface Sample {
  ms: number;
  cpuMs?: number;
  rss?: number;
}

async function timed(what: string, cmd: string, args: string[], stdinFile?: string): Promise<Sample> {
  execFileSync('sync');
  const fd = stdinFile ? openSync(stdinFile, 'r') : undefined;
  try {
    const r = await runProc(cmd, args, { rss: true, ...(fd !== undefined ? { stdio: [fd, 'pipe', 'pipe'] } : {}) });
    if (r.code !== 0) throw new Error(`${what}: exit ${r.code ?? r.signal}: ${r.stderr.slice(0, 1000)}`);
    return { ms: r.ms, cpuMs: r.cpuMs, rss: r.peakRss };
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** `n` pairs: ours first in even pairs, last in odd ones; `others` run in between, in order. */
async function pairs(n: number, ours: () => Promise<Sample>, others: Array<() => Promise<Sample>>, after: () => void) {
  const out = { ours: [] as Sample[], others: others.map(() => [] as Sample[]), loads: [] as number[] };
  for (let i = 0; i < n; i++) {
    out.loads.push(loadavg()[0]);
    if (i % 2 === 0) out.ours.push(await ours());
    for (let k = 0; k < others.length; k++) out.others[k]!.push(await others[k]!());
    if (i % 2 === 1) out.ours.push(await ours());
    after();
  }
  return out;
}

const fmtSample = (xs: Sample[]) =>
  `${Math.round(median(xs.map((s) => s.ms)))} ms, CPU ${Math.round(median(xs.map((s) => s.cpuMs ?? NaN)))} ms, peak RSS ${Math.round(median(xs.map((s) => s.rss ?? NaN)) / MiB)} MiB`;

async function run(ctx: Ctx): Promise<Row[]> {
  const size = ctx.quick ? 256 * MiB : GiB;
  const n = Math.max(1, Number(process.env.INGEST_LIMITS_PAIRS) || (ctx.quick ? 3 : 5));
  const label = size >= GiB ? `${size / GiB} GiB` : `${size / MiB} MiB`;
  const dir = tempDir('ingest-limits');
  const input = join(dir, 'input');
  const root = join(dir, 'store');
  const beforeRoot = join(dir, 'store-before');
  const copy = join(dir, 'copy');
  const rows: Row[] = [];
  try {
    await writeRandomFile(input, size);
    const cleanup = () => {
      rmSync(root, { recursive: true, force: true });
      rmSync(beforeRoot, { recursive: true, force: true });
      rmSync(copy, { force: true });
    };
    // Each contender has its own store: none may find the blob another committed.
    const ingest = (extra: string[], cli = distCli, store = root) => () => timed('dist ingest', process.execPath, [cli, '--root', store, 'ingest', ...extra, 'bench'], input);
    const before = process.env.BENCH_BEFORE_CLI;
    const beforeRow = (figure: string, samples: Sample[], base: Sample[], baseName: string, speed: boolean) => {
      const ratios = samples.map((x, i) => (speed ? base[i]!.ms / x.ms : x.ms / base[i]!.ms));
      const r = row(S, figure, median(samples.map((x) => x.ms)), 'ms', { name: baseName, value: median(base.map((x) => x.ms)) }, undefined,
        `BEFORE: ${before}; ratio = median of ${n} per-pair ${speed ? 'speed' : 'time'} ratios [${ratios.map((x) => x.toFixed(2)).join(', ')}] against the same baseline runs; ${fmtSample(samples)}`);
      r.ratio = median(ratios);
      ctx.log(`  ${figure}: ${fmtSample(samples)}; ratios [${ratios.map((x) => x.toFixed(2)).join(', ')}]`);
      return r;
    };
    const dd = () => timed('dd', 'dd', [`if=${input}`, `of=${copy}`, 'bs=1M', 'conv=fdatasync', 'status=none']);
    const openssl = () => timed('openssl dgst', 'openssl', ['dgst', '-sha256', input]);
    const wasm = () => timed('hash-wasm sha256', process.execPath, [benchScript('lib/wasm-sha256-file.js'), input]);

    // Native: against the disk limit and the hashing limit.
    const nat = await pairs(n, ingest(['--hash', 'native']), [dd, openssl, ...(before ? [ingest(['--hash', 'native'], before, beforeRoot)] : [])], cleanup);
    const load = `load average ${Math.min(...nat.loads).toFixed(2)}–${Math.max(...nat.loads).toFixed(2)} at the pairs' start`;
    const vsDd = nat.ours.map((s, i) => s.ms / nat.others[0]![i]!.ms);
    const vsSsl = nat.ours.map((s, i) => s.ms / nat.others[1]![i]!.ms);
    ctx.log(`  dist ingest --hash native: ${fmtSample(nat.ours)}; dd: ${fmtSample(nat.others[0]!)}; openssl: ${fmtSample(nat.others[1]!)}`);
    ctx.log(`  ratios vs dd [${vsDd.map((x) => x.toFixed(2)).join(', ')}], vs openssl [${vsSsl.map((x) => x.toFixed(2)).join(', ')}]; ${load}`);
    const r1 = row(S, `dist ingest --hash native < file (${label})`, median(nat.ours.map((s) => s.ms)), 'ms',
      { name: 'dd bs=1M conv=fdatasync (disk limit)', value: median(nat.others[0]!.map((s) => s.ms)) }, { on: 'ratio', goal: 'lower', limit: 1.2 },
      `ratio = median of ${n} per-pair time ratios [${vsDd.map((x) => x.toFixed(2)).join(', ')}]; ${fmtSample(nat.ours)} vs ${fmtSample(nat.others[0]!)}; ${load}`);
    r1.ratio = median(vsDd);
    r1.met = r1.ratio <= 1.2;
    const r2 = row(S, `dist ingest --hash native < file (${label}), vs hashing alone`, median(nat.ours.map((s) => s.ms)), 'ms',
      { name: 'openssl dgst -sha256 (hash limit)', value: median(nat.others[1]!.map((s) => s.ms)) }, undefined,
      `ratio = median of ${n} per-pair time ratios [${vsSsl.map((x) => x.toFixed(2)).join(', ')}]; openssl ${fmtSample(nat.others[1]!)}`);
    r2.ratio = median(vsSsl);
    rows.push(r1, r2);
    if (before) rows.push(beforeRow(`BEFORE: dist ingest --hash native < file (${label})`, nat.others[2]!, nat.others[0]!, 'dd bs=1M conv=fdatasync (disk limit)', false));

    // Wasm (default engine): against one thread of hash-wasm over the same file.
    const w = await pairs(n, ingest([]), [wasm, ...(before ? [ingest([], before, beforeRoot)] : [])], cleanup);
    const wload = `load average ${Math.min(...w.loads).toFixed(2)}–${Math.max(...w.loads).toFixed(2)} at the pairs' start`;
    const speed = w.ours.map((s, i) => w.others[0]![i]!.ms / s.ms);
    ctx.log(`  dist ingest (wasm): ${fmtSample(w.ours)}; hash-wasm 1 thread: ${fmtSample(w.others[0]!)}; speed ratios [${speed.map((x) => x.toFixed(2)).join(', ')}]; ${wload}`);
    const r3 = row(S, `dist ingest < file (${label}, wasm), speed`, (size / 1e6) / (median(w.ours.map((s) => s.ms)) / 1000), 'MB/s',
      { name: 'hash-wasm SHA-256 of the file, 1 thread, whole process', value: (size / 1e6) / (median(w.others[0]!.map((s) => s.ms)) / 1000) }, { on: 'ratio', goal: 'higher', limit: 0.9 },
      `ratio = median of ${n} per-pair speed ratios [${speed.map((x) => x.toFixed(2)).join(', ')}]; ${fmtSample(w.ours)} vs ${fmtSample(w.others[0]!)}; ${wload}`);
    r3.ratio = median(speed);
    r3.met = r3.ratio >= 0.9;
    rows.push(r3);
    if (before) rows.push(beforeRow(`BEFORE: dist ingest < file (${label}, wasm), speed ratio`, w.others[1]!, w.others[0]!, 'hash-wasm SHA-256 of the file, 1 thread, whole process', true));
  } finally {
    removeTemp(dir);
  }
  return rows;
}

export const ingestLimitsSuite: Suite = { name: 'ingest-limits', description: 'dist ingest of a file on stdin vs dd/openssl/hash-wasm as whole processes, alternating pairs', run };
