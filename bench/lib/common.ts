/**
 * Shared helpers of the benchmark suites: the result row and table, timing and statistics,
 * temp directories, child processes (with peak RSS) and the machine description.
 *
 * Every figure is printed next to a baseline measured in the same run, as a ratio: this
 * machine is shared and noisy, absolute times drift.
 */
import { spawn, spawnSync, type SpawnOptions } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statfsSync } from 'node:fs';
import { cpus, freemem, hostname, loadavg, release, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const KiB = 1024;
export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

/** Which way a target compares the figure's value. */
export type Goal = 'higher' | 'lower';

export interface Row {
  suite: string;
  figure: string;
  value: number;
  unit: string;
  baseline?: string;
  baselineValue?: number;
  /** value / baselineValue (computed when both exist). */
  ratio?: number;
  /** Human-readable target, e.g. "≥ 0.9× baseline" or "< 200 MiB". */
  target?: string;
  met?: boolean;
  note?: string;
}

export interface TargetSpec {
  /** Compare the ratio (value / baseline) or the raw value against `limit`. */
  on: 'ratio' | 'value';
  goal: Goal;
  limit: number;
  /** Strict comparison (< or >) instead of ≤ / ≥. */
  strict?: boolean;
}

export function row(
  suite: string,
  figure: string,
  value: number,
  unit: string,
  baseline?: { name: string; value: number },
  target?: TargetSpec,
  note?: string,
): Row {
  const r: Row = { suite, figure, value, unit };
  if (baseline) {
    r.baseline = baseline.name;
    r.baselineValue = baseline.value;
    r.ratio = baseline.value > 0 ? value / baseline.value : undefined;
  }
  if (target) {
    const x = target.on === 'ratio' ? r.ratio : value;
    const sym = target.goal === 'higher' ? (target.strict ? '>' : '≥') : target.strict ? '<' : '≤';
    r.target = target.on === 'ratio' ? `ratio ${sym} ${target.limit}` : `${sym} ${target.limit} ${unit}`;
    if (x !== undefined && Number.isFinite(x)) {
      if (target.goal === 'higher') r.met = target.strict ? x > target.limit : x >= target.limit;
      else r.met = target.strict ? x < target.limit : x <= target.limit;
    }
  }
  if (note) r.note = note;
  return r;
}

export interface Ctx {
  quick: boolean;
  /** Memoised measurements shared between suites of one run (e.g. hashing limits). */
  memo<T>(key: string, fn: () => Promise<T>): Promise<T>;
  log(msg: string): void;
}

export interface Suite {
  name: string;
  description: string;
  run(ctx: Ctx): Promise<Row[]>;
}

// ---------------------------------------------------------------------------- statistics

export function median(xs: number[]): number {
  return percentile(xs, 50);
}

/** Nearest-rank percentile (p in 0..100). */
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length - 1, Math.max(0, rank - 1))];
}

export function now(): number {
  return performance.now();
}

/** Machine-wide monotonic clock in ms (CLOCK_MONOTONIC): comparable across processes. */
export function monoMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Runs `fn` `reps` times (after `setup` each time, untimed); returns the timed ms. */
export async function timed(reps: number, fn: (i: number) => Promise<void>, setup?: (i: number) => Promise<void>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < reps; i++) {
    if (setup) await setup(i);
    const t = now();
    await fn(i);
    out.push(now() - t);
  }
  return out;
}

/** MB/s (10^6 bytes per second). */
export function mbps(bytes: number, ms: number): number {
  return bytes / 1e6 / (ms / 1000);
}

/** One pair of whole-process timings: ours and the peer's, taken back to back. */
export interface Pair {
  ours: number;
  theirs: number;
}

/** Medians of each side, the median of the per-pair ratios (not a ratio of medians), and those ratios as text. */
export function summarizePairs(pairs: Pair[]): { ours: number; theirs: number; ratio: number; ratios: string } {
  const ratios = pairs.map((p) => p.ours / p.theirs);
  return { ours: median(pairs.map((p) => p.ours)), theirs: median(pairs.map((p) => p.theirs)), ratio: median(ratios), ratios: ratios.map((r) => r.toFixed(2)).join(', ') };
}

export interface PairResult {
  /** Per-pair ratios a / b, in run order. */
  ratios: number[];
  a: number[];
  b: number[];
  /** 1-minute load average before each pair. */
  loads: number[];
}

/**
 * Measures `a` against `b` in `n` pairs whose order alternates (a b, b a, …), so drift in a
 * shared machine's load hits both sides alike; report the median of the per-pair ratios.
 * Each function returns its own measurement (e.g. a process's wall time).
 */
export async function alternatingPairs(n: number, a: () => Promise<number>, b: () => Promise<number>): Promise<PairResult> {
  const out: PairResult = { ratios: [], a: [], b: [], loads: [] };
  for (let i = 0; i < n; i++) {
    out.loads.push(loadavg()[0]);
    let x: number;
    let y: number;
    if (i % 2 === 0) {
      x = await a();
      y = await b();
    } else {
      y = await b();
      x = await a();
    }
    out.a.push(x);
    out.b.push(y);
    out.ratios.push(x / y);
  }
  return out;
}

/** "load average 1.2–3.4" over a PairResult's pairs. */
export function loadRange(loads: number[]): string {
  return `load average ${Math.min(...loads).toFixed(2)}–${Math.max(...loads).toFixed(2)}`;
}

/** Runs `worker` over `items` with at most `n` in flight. */
export async function mapLimit<T>(items: T[], n: number, worker: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const run = async () => {
    while (next < items.length) {
      const i = next++;
      await worker(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, run));
}

// ---------------------------------------------------------------------------- paths & temp

const here = dirname(fileURLToPath(import.meta.url)); // dist/bench/lib
/** The package root (holds package.json). */
export const packageRoot = resolve(here, '..', '..', '..');
export const distCli = join(packageRoot, 'dist', 'src', 'cli', 'main.js');
/** A compiled bench helper script: dist/bench/<rel>. */
export function benchScript(rel: string): string {
  return join(packageRoot, 'dist', 'bench', rel);
}

const temps = new Set<string>();

export function tempDir(tag: string): string {
  const d = mkdtempSync(join(tmpdir(), `ck-bench-${tag}-`));
  temps.add(d);
  return d;
}

export function removeTemp(dir: string): void {
  rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  temps.delete(dir);
}

export function removeAllTemps(): void {
  for (const d of [...temps]) removeTemp(d);
}

// ---------------------------------------------------------------------------- processes

export interface ProcResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  ms: number;
  stdout: string;
  stderr: string;
  /** Peak RSS in bytes (from /usr/bin/time -v, or by polling /proc), if measured. */
  peakRss?: number;
  /** User + system CPU time in ms (from /usr/bin/time -v: 10 ms resolution), if measured. */
  cpuMs?: number;
}

const GNU_TIME = '/usr/bin/time';
export const haveGnuTime = existsSync(GNU_TIME) && spawnSync(GNU_TIME, ['-v', 'true']).status === 0;

export interface RunOptions extends SpawnOptions {
  /** Measure peak RSS (GNU time -v if present, else /proc polling every 20 ms). */
  rss?: boolean;
  /** Data or a file descriptor/stream for stdin: a path opened read-only. */
  stdinFile?: string;
  /** Shell pipeline instead of a plain exec: `cmd` is passed to /bin/sh -c. */
  shell?: boolean;
  /** Keep at most this many bytes of stdout. */
  maxStdout?: number;
}

/** Runs a command to completion; wall time measured from spawn to exit. */
export function runProc(cmd: string, args: string[], opts: RunOptions = {}): Promise<ProcResult> {
  let file = cmd;
  let argv = args;
  const useTime = opts.rss && haveGnuTime;
  if (useTime) {
    argv = ['-v', cmd, ...args];
    file = GNU_TIME;
  }
  return new Promise((resolvePromise, reject) => {
    const t0 = now();
    const child = spawn(file, argv, { stdio: ['pipe', 'pipe', 'pipe'], ...opts });
    let stdout = '';
    let stderr = '';
    const max = opts.maxStdout ?? 1 << 20;
    child.stdout?.on('data', (d: Buffer) => {
      if (stdout.length < max) stdout += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    let polledPeak = 0;
    let poll: NodeJS.Timeout | undefined;
    if (opts.rss && !useTime && child.pid) {
      const pid = child.pid;
      poll = setInterval(() => {
        try {
          const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8')) ?? /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
          if (m) polledPeak = Math.max(polledPeak, Number(m[1]) * 1024);
        } catch {
          // exited
        }
      }, 20);
    }
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const ms = now() - t0;
      if (poll) clearInterval(poll);
      let peakRss: number | undefined;
      let cpu: number | undefined;
      if (useTime) {
        const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
        if (m) peakRss = Number(m[1]) * 1024;
        const user = /User time \(seconds\): ([\d.]+)/.exec(stderr);
        const sys = /System time \(seconds\): ([\d.]+)/.exec(stderr);
        if (user && sys) cpu = (Number(user[1]) + Number(sys[1])) * 1000;
        const st = /Exit status: (\d+)/.exec(stderr);
        if (st) code = Number(st[1]);
        stderr = stderr.replace(/\n?\s*Command being timed:[\s\S]*$/, '');
      } else if (opts.rss) peakRss = polledPeak || undefined;
      resolvePromise({ code, signal, ms, stdout, stderr, peakRss, cpuMs: cpu });
    });
    if (opts.stdinFile && child.stdin) {
      import('node:fs').then(({ createReadStream }) => {
        const rs = createReadStream(opts.stdinFile!, { highWaterMark: 1 << 20 });
        rs.on('error', reject);
        rs.pipe(child.stdin!);
      });
    } else if (!opts.stdio) child.stdin?.end();
  });
}

/** Runs the `dist` CLI (compiled) with `args`; throws on a non-zero exit. */
export async function runCli(root: string, args: string[], opts: RunOptions = {}): Promise<ProcResult> {
  const r = await runProc(process.execPath, [distCli, '--root', root, ...args], opts);
  if (r.code !== 0) throw new Error(`dist ${args.join(' ')} exited ${r.code ?? r.signal}: ${r.stderr.trim().slice(0, 2000)}`);
  return r;
}

// ---------------------------------------------------------------------------- machine

export interface Machine {
  date: string;
  host: string;
  cpus: number;
  model: string;
  memoryGiB: number;
  freeMemoryGiB: number;
  node: string;
  kernel: string;
  tmpdir: string;
  diskFreeGiB: number;
  fs?: string;
  /** 1-minute load average when the run started (the machine is shared). */
  load1: number;
}

export function machine(): Machine {
  const c = cpus();
  let diskFreeGiB = NaN;
  try {
    const s = statfsSync(tmpdir());
    diskFreeGiB = (s.bavail * s.bsize) / GiB;
  } catch {
    // unknown
  }
  let fs: string | undefined;
  const df = spawnSync('df', ['-T', tmpdir()], { encoding: 'utf8' });
  if (df.status === 0) fs = df.stdout.trim().split('\n').pop()?.split(/\s+/)[1];
  return {
    date: new Date().toISOString(),
    host: hostname(),
    cpus: c.length,
    model: c[0]?.model ?? 'unknown',
    memoryGiB: totalmem() / GiB,
    freeMemoryGiB: freemem() / GiB,
    node: process.version,
    kernel: release(),
    tmpdir: tmpdir(),
    diskFreeGiB,
    fs,
    load1: loadavg()[0],
  };
}

export function describeMachine(m: Machine): string {
  return (
    `${m.date}  host ${m.host}\n` +
    `${m.cpus} × ${m.model}, ${m.memoryGiB.toFixed(1)} GiB RAM (${m.freeMemoryGiB.toFixed(1)} free), ` +
    `node ${m.node}, Linux ${m.kernel}\n` +
    `tmpdir ${m.tmpdir}${m.fs ? ` (${m.fs})` : ''}, ${m.diskFreeGiB.toFixed(0)} GiB free; load average ${m.load1.toFixed(2)} at start`
  );
}

// ---------------------------------------------------------------------------- table

function fmt(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return '-';
  const a = Math.abs(x);
  if (a >= 1000) return x.toFixed(0);
  if (a >= 100) return x.toFixed(1);
  if (a >= 10) return x.toFixed(2);
  if (a >= 0.01) return x.toFixed(3);
  if (a === 0) return '0';
  return x.toPrecision(2);
}

export function fmtRatio(r: number | undefined): string {
  if (r === undefined || !Number.isFinite(r)) return '-';
  return r >= 100 ? `${r.toFixed(0)}×` : r >= 0.1 ? `${r.toFixed(2)}×` : `${r.toPrecision(2)}×`;
}

export function tableLines(rows: Row[]): string[][] {
  const head = ['figure', 'value', 'baseline', 'baseline value', 'ratio', 'target', 'met?'];
  const body = rows.map((r) => [
    r.figure,
    `${fmt(r.value)} ${r.unit}`,
    r.baseline ?? '-',
    r.baselineValue !== undefined ? `${fmt(r.baselineValue)} ${r.unit}` : '-',
    fmtRatio(r.ratio),
    r.target ?? '-',
    r.met === undefined ? '-' : r.met ? 'yes' : 'NO',
  ]);
  return [head, ...body];
}

export function printTable(title: string, rows: Row[]): string {
  const lines = tableLines(rows);
  const widths = lines[0].map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  const pad = (l: string[]) => l.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  const out = [`\n== ${title}`, pad(lines[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.slice(1).map(pad)];
  const notes = rows.filter((r) => r.note).map((r) => `  * ${r.figure}: ${r.note}`);
  if (notes.length) out.push(...notes);
  const s = out.join('\n');
  console.log(s);
  return s;
}

export function markdownTable(rows: Row[]): string {
  const lines = tableLines(rows);
  const esc = (c: string) => c.replace(/\|/g, '\\|');
  return [
    `| ${lines[0].join(' | ')} |`,
    `|${lines[0].map(() => '---').join('|')}|`,
    ...lines.slice(1).map((l) => `| ${l.map(esc).join(' | ')} |`),
  ].join('\n');
}

/** Random bytes quickly (crypto.randomFillSync is ~1 GB/s; fine for bench inputs). */
export { randomFillSync } from 'node:crypto';

/** Writes `bytes` of random data to `path` (16 MiB random block, each MiB stamped). */
export async function writeRandomFile(path: string, bytes: number): Promise<void> {
  const { open } = await import('node:fs/promises');
  const { randomFillSync: fill } = await import('node:crypto');
  const block = fill(Buffer.allocUnsafe(Math.min(bytes, 16 * MiB)));
  const fh = await open(path, 'w');
  try {
    for (let at = 0, i = 0; at < bytes; i++) {
      const n = Math.min(block.length, bytes - at);
      const piece = block.subarray(0, n);
      if (n >= 8) piece.writeDoubleLE(i, 0);
      let done = 0;
      while (done < n) done += (await fh.write(piece, done, n - done, at + done)).bytesWritten;
      at += n;
    }
  } finally {
    await fh.close();
  }
}

/** Parses GNU time -v output in `stderr`: peak RSS in bytes. */
export function gnuTimeRss(stderr: string): number | undefined {
  const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
  return m ? Number(m[1]) * 1024 : undefined;
}
