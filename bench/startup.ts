/**
 * Suite `startup` (issue 15): what a whole `dist` process costs, against Node's own floor.
 * The seed's pipelines run one `dist` process per blob, so each pays start-up before any
 * work. Every figure is whole processes, in pairs whose order alternates, reported as the
 * median of the per-pair ratios, with the load average over the pairs.
 *
 *   dist list on an empty store                 vs node -e ''                  target ≤ 1.3×
 *   dist ingest --expected-digest D < 2 KiB,
 *     into a new store (wall, and CPU time)     vs node -e ''                  target ≤ 1.5×
 *   200 × 2 KiB ingests through xargs -P2       vs node -e '' + sha256sum
 *                                                  per file through xargs -P2   target ≤ 1.6×
 *   dist active --json with 1,000 idle ingests  (issue 3)                      target < 200 ms
 *
 * Then a CPU profile (node --cpu-prof) of the 2 KiB ingest: the time left, by category and
 * by function. With $DIST_BENCH_BEFORE=<path to another build's dist/src/cli/main.js>, the
 * list and ingest figures are also taken for that build in the same pairs (before/after).
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openStore, type Writer } from '../src/index.js';
import {
  alternatingPairs,
  distCli,
  KiB,
  loadRange,
  mapLimit,
  median,
  now,
  removeTemp,
  row,
  runProc,
  tempDir,
  type Ctx,
  type PairResult,
  type ProcResult,
  type Row,
  type RunOptions,
  type Suite,
  type TargetSpec,
} from './lib/common.js';
import { profileIn, summarizeProfile, type ProfileSummary } from './lib/profile.js';

const S = 'startup';
const NODE_E = "node -e ''";

/** A row whose ratio is the median of per-pair ratios (not the ratio of medians). */
function pairRow(figure: string, p: PairResult, unit: string, baseline: string, target: TargetSpec | undefined, note: string): Row {
  const r = row(S, figure, median(p.a), unit, { name: baseline, value: median(p.b) }, undefined, note);
  r.ratio = median(p.ratios);
  if (target) {
    const sym = target.strict ? '<' : '≤';
    r.target = `ratio ${sym} ${target.limit}`;
    r.met = target.strict ? r.ratio < target.limit : r.ratio <= target.limit;
  }
  return r;
}

function pairNote(p: PairResult): string {
  return `median of ${p.ratios.length} alternating pairs' ratios (${p.ratios.map((x) => x.toFixed(2)).join(', ')}); ${loadRange(p.loads)}`;
}

interface ProcOpts extends RunOptions {
  /** A file redirected to stdin (`< FILE`: the process reads the file itself, no pipe). */
  stdinPath?: string;
}

/** Runs a process that must succeed. */
async function mustRun(cmd: string, args: string[], opts: ProcOpts = {}): Promise<ProcResult> {
  const fd = opts.stdinPath === undefined ? undefined : openSync(opts.stdinPath, 'r');
  try {
    const r = await runProc(cmd, args, fd === undefined ? opts : { ...opts, stdio: [fd, 'pipe', 'pipe'] });
    if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code ?? r.signal}: ${r.stderr.trim().slice(0, 500)}`);
    return r;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Wall time of a process, spawn to exit. */
async function wall(cmd: string, args: string[], opts: ProcOpts = {}): Promise<number> {
  return (await mustRun(cmd, args, opts)).ms;
}

/** CPU time (user + system, GNU time) of a process. */
async function cpu(cmd: string, args: string[], opts: ProcOpts = {}): Promise<number> {
  const r = await mustRun(cmd, args, { ...opts, rss: true });
  if (r.cpuMs === undefined) throw new Error(`no CPU time for ${cmd} ${args.join(' ')} (GNU time missing?)`);
  return r.cpuMs;
}

const nodeE = () => wall(process.execPath, ['-e', '']);

async function run(ctx: Ctx): Promise<Row[]> {
  const rows: Row[] = [];
  const base = tempDir('startup');
  const reps = ctx.quick ? 5 : 11;
  const before = process.env.DIST_BENCH_BEFORE;
  const clis: Array<[string, string]> = [['', distCli], ...(before ? ([[' (before)', before]] as Array<[string, string]>) : [])];
  try {
    // A 2 KiB blob and its digest.
    const blob = randomBytes(2 * KiB);
    const blobFile = join(base, 'blob');
    writeFileSync(blobFile, blob);
    const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
    const empty = join(base, 'empty');
    openStore(empty);
    let n = 0;
    const ingest = () => ['--root', join(base, `ingest-${n++}`), 'ingest', '--expected-digest', digest];

    for (const [tag, cli] of clis) {
      const list = await alternatingPairs(reps, () => wall(process.execPath, [cli, '--root', empty, 'list']), nodeE);
      rows.push(pairRow(`dist list, empty store${tag}`, list, 'ms', NODE_E, { on: 'ratio', goal: 'lower', limit: 1.3 }, pairNote(list)));
      const ing = await alternatingPairs(reps, () => wall(process.execPath, [cli, ...ingest()], { stdinPath: blobFile }), nodeE);
      rows.push(pairRow(`dist ingest --expected-digest D < 2 KiB, new store${tag}`, ing, 'ms', NODE_E, { on: 'ratio', goal: 'lower', limit: 1.5 }, pairNote(ing)));
      const ingCpu = await alternatingPairs(
        reps,
        () => cpu(process.execPath, [cli, ...ingest()], { stdinPath: blobFile }),
        () => cpu(process.execPath, ['-e', '']),
      );
      rows.push(pairRow(`CPU time (user + sys) of that ingest${tag}`, ingCpu, 'ms', `CPU time of ${NODE_E}`, undefined, `${pairNote(ingCpu)}; GNU time, 10 ms resolution`));
    }

    // The seed's pipeline shape: one process per blob, two at a time.
    const files = ctx.quick ? 50 : 200;
    const dir = join(base, 'files');
    mkdirSync(dir);
    const lines: string[] = [];
    for (let i = 0; i < files; i++) {
      const b = randomBytes(2 * KiB);
      const f = join(dir, `f${i}`);
      writeFileSync(f, b);
      lines.push(`${f} sha256:${createHash('sha256').update(b).digest('hex')}`);
    }
    const listFile = join(base, 'files.txt');
    writeFileSync(listFile, lines.join('\n') + '\n');
    const xargs = async (script: string, root?: string): Promise<number> => {
      const ms = await wall('sh', ['-c', `xargs -P2 -n2 sh -c '${script}' < ${listFile}`], { env: { ...process.env, ROOT: root ?? '', CLI: distCli, NODE: process.execPath } });
      if (root !== undefined) {
        const got = readdirSync(join(root, 'blobs', 'sha256')).length;
        if (got !== files) throw new Error(`xargs ingest committed ${got} blobs, expected ${files}`);
      }
      return ms;
    };
    let x = 0;
    const pipe = await alternatingPairs(
      ctx.quick ? 1 : 3,
      () => xargs('exec "$NODE" "$CLI" --root "$ROOT" ingest --expected-digest "$1" < "$0" > /dev/null', join(base, `xargs-${x++}`)),
      () => xargs('"$NODE" -e "" && exec sha256sum "$0" > /dev/null'),
    );
    rows.push(
      pairRow(`${files} × 2 KiB ingests, xargs -P2, one dist ingest per file`, pipe, 'ms', `${NODE_E} + sha256sum per file, xargs -P2`, { on: 'ratio', goal: 'lower', limit: 1.6 }, pairNote(pipe)),
    );

    rows.push(...(await active(ctx, base)));

    // What the 2 KiB ingest's time goes to now, against the same profile of `node -e ''`.
    const profiles = async (args: string[], opts: ProcOpts, n: number): Promise<ProfileSummary[]> => {
      const out: ProfileSummary[] = [];
      for (let i = 0; i < n; i++) {
        const dir = join(base, `profile-${n}-${i}-${out.length}-${Math.random().toString(36).slice(2)}`);
        await wall(process.execPath, ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-interval', '100', ...args], opts);
        out.push(summarizeProfile(profileIn(dir)));
      }
      return out;
    };
    const np = ctx.quick ? 3 : 5;
    const ours = await profiles([distCli, ...ingest()], { stdinPath: blobFile }, np);
    const floor = await profiles(['-e', ''], {}, np);
    const med = (ps: ProfileSummary[], cat?: string) => median(ps.map((p) => (cat === undefined ? p.totalMs : (p.categories.find(([c]) => c === cat)?.[1] ?? 0))));
    const cats = [...new Set([...ours, ...floor].flatMap((p) => p.categories.map(([c]) => c)))].sort((a, b) => med(ours, b) - med(ours, a));
    ctx.log(`  CPU profiles (node --cpu-prof, median of ${np}; sampled after Node's own bootstrap): 2 KiB ingest ${med(ours).toFixed(1)} ms, node -e '' ${med(floor).toFixed(1)} ms`);
    for (const c of cats) ctx.log(`    ${med(ours, c).toFixed(1).padStart(6)} ms vs ${med(floor, c).toFixed(1).padStart(5)} ms  ${c}`);
    const typical = ours[Math.floor(ours.length / 2)];
    ctx.log('  top functions of one ingest profile (self time):');
    for (const [f, ms] of typical.functions.slice(0, 15)) ctx.log(`    ${ms.toFixed(1).padStart(6)} ms  ${f}`);
    rows.push(row(S, 'profile of the 2 KiB ingest: all samples', med(ours), 'ms', { name: `profile of ${NODE_E}`, value: med(floor) }, undefined, `median of ${np} profiles each`));
    for (const c of cats.filter((c) => med(ours, c) >= 1)) {
      rows.push(row(S, `profile of the 2 KiB ingest: ${c}`, med(ours, c), 'ms', { name: `the same in ${NODE_E}`, value: med(floor, c) }, undefined));
    }
  } finally {
    removeTemp(base);
  }
  return rows;
}

/** Issue 3's figure, here as a start-up figure: `dist active --json` over 1,000 idle ingests. */
async function active(ctx: Ctx, base: string): Promise<Row[]> {
  const N = 1000;
  const root = join(base, 'active');
  const store = openStore(root);
  const bytes = Buffer.from('a few bytes');
  const t = now();
  await mapLimit(Array.from({ length: N }, (_, i) => i), 8, async (i) => {
    const w: Writer = await store.writer({ ref: `idle-${i}` });
    await w.write(bytes);
    await w.close();
  });
  ctx.log(`  created ${N} idle ingests in ${((now() - t) / 1000).toFixed(1)} s`);
  const p = await alternatingPairs(
    ctx.quick ? 5 : 11,
    async () => {
      const r = await runProc(process.execPath, [distCli, '--root', root, 'active', '--json'], { maxStdout: 64 << 20 });
      if (r.code !== 0) throw new Error(`dist active exited ${r.code}: ${r.stderr}`);
      const list = JSON.parse(r.stdout) as unknown[];
      if (list.length !== N) throw new Error(`dist active listed ${list.length} ingests, expected ${N}`);
      return r.ms;
    },
    nodeE,
  );
  const r = pairRow(`dist active --json, ${N} idle ingests`, p, 'ms', NODE_E, undefined, pairNote(p));
  r.target = '< 200 ms';
  r.met = r.value < 200;
  return [r];
}

export const startupSuite: Suite = { name: 'startup', description: 'whole-process start-up cost of dist vs node -e (issue 15)', run };
