/**
 * Suite `serve`: containerd's own client (`ctr`, Debian's containerd 1.6) against
 * `dist serve` and against containerd 1.6's daemon — each on its own root and socket, run
 * in turn, never at once — in the same run:
 *   - `ctr content ingest` of 256 MiB from a file (a fresh blob per rep, for both sides)
 *   - `ctr content get` of it (to /dev/null)
 *   - `ctr content fetch --plain-http` of the 256 MiB test image from a local registry
 *     (a fresh root per rep, for both sides)
 * Medians of SERVE_BENCH_REPS (default 3; --quick: 1). Goal: ≤ 1.0× containerd's time each.
 *
 *   node dist/bench/run.js serve
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { bigImage } from '../test/registry/helpers/big-image.js';
import { imageBytes } from '../test/registry/helpers/image.js';
import { pushImage } from '../test/registry/helpers/push.js';
import { repoRoot, startRegistry } from '../test/registry/helpers/registry.js';
import { prngBlock } from '../test/registry/helpers/tar.js';
import { MiB, row, type Ctx, type Row, type Suite } from './lib/common.js';

const SIZE = 256 * MiB;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

interface Daemon {
  name: string;
  sock: string;
  stop(): Promise<void>;
}

function waitExit(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : once(child, 'exit').then(() => undefined);
}

async function startDist(dir: string): Promise<Daemon> {
  await mkdir(dir, { recursive: true });
  const sock = join(dir, 'dist.sock');
  const child = spawn(process.execPath, [join(repoRoot(), 'dist', 'src', 'cli', 'main.js'), '--root', join(dir, 'root'), 'serve', '--address', `unix://${sock}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (l) => l.startsWith('serving on ') && resolve());
    child.once('exit', (code) => reject(new Error(`dist serve exited ${code}: ${err}`)));
  });
  return {
    name: 'dist serve',
    sock,
    async stop() {
      child.kill('SIGTERM');
      await waitExit(child);
    },
  };
}

/** containerd 1.6 on its own root, state and socket (CRI off: nothing but the core services). */
async function startContainerd(dir: string): Promise<Daemon> {
  await mkdir(dir, { recursive: true });
  const sock = join(dir, 'containerd.sock');
  const config = join(dir, 'config.toml');
  await writeFile(
    config,
    [
      'version = 2',
      `root = ${JSON.stringify(join(dir, 'root'))}`,
      `state = ${JSON.stringify(join(dir, 'state'))}`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      '[grpc]',
      `  address = ${JSON.stringify(sock)}`,
      '[ttrpc]',
      `  address = ${JSON.stringify(`${sock}.ttrpc`)}`,
      '[debug]',
      '  address = ""',
      '[metrics]',
      '  address = ""',
      '',
    ].join('\n'),
  );
  const child = spawn('containerd', ['--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => (err = (err + d).slice(-4000)));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`containerd exited ${child.exitCode}: ${err}`);
    const r = await ctr(sock, ['--connect-timeout', '1s', 'version']).catch(() => undefined);
    if (r?.code === 0) break;
    if (Date.now() > deadline) throw new Error(`containerd did not start: ${err}`);
    await sleep(100);
  }
  return {
    name: 'containerd',
    sock,
    async stop() {
      child.kill('SIGTERM');
      await waitExit(child);
    },
  };
}

interface Result {
  code: number | null;
  stderr: string;
}

/** `ctr -a SOCK …`, stdin from a file (or nothing), stdout discarded. */
async function ctr(sock: string, args: string[], stdinFile?: string): Promise<Result> {
  const fh = stdinFile ? await open(stdinFile, 'r') : undefined;
  try {
    const child = spawn('ctr', ['-a', sock, ...args], { stdio: [fh ? fh.fd : 'ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const [code] = (await once(child, 'exit')) as [number | null];
    return { code, stderr };
  } finally {
    await fh?.close();
  }
}

async function timed(sock: string, args: string[], stdinFile?: string): Promise<number> {
  const t = performance.now();
  const r = await ctr(sock, args, stdinFile);
  const ms = performance.now() - t;
  if (r.code !== 0) throw new Error(`ctr ${args.join(' ')} against ${sock}: exit ${r.code}: ${r.stderr}`);
  return ms;
}

/** A 256 MiB file of seeded bytes; returns its digest. */
async function makeBlob(path: string, seed: string): Promise<string> {
  const block = prngBlock(seed, MiB);
  const h = createHash('sha256');
  const out = createWriteStream(path);
  for (let i = 0; i < SIZE / MiB; i++) {
    const b = Buffer.from(block);
    b.writeUInt32LE(i, 0); // distinct blocks
    h.update(b);
    if (!out.write(b)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return `sha256:${h.digest('hex')}`;
}

export async function runServeBench(log: (m: string) => void, reps: number): Promise<Row[]> {
  const tmp = await mkdtemp(join(tmpdir(), 'ck-serve-bench-'));
  const reg = await startRegistry();
  const t = { distIngest: [] as number[], ctrdIngest: [] as number[], distGet: [] as number[], ctrdGet: [] as number[], distFetch: [] as number[], ctrdFetch: [] as number[] };
  try {
    const blobs: Array<{ file: string; digest: string }> = [];
    for (let i = 0; i < reps; i++) {
      const file = join(tmp, `blob-${i}`);
      blobs.push({ file, digest: await makeBlob(file, `serve-bench-${i}`) });
    }
    const img = await bigImage('serve-bench');
    await pushImage({ host: reg.host }, 'bench/serve', 'v1', img);
    const name = `${reg.host}/bench/serve:v1`;
    log(`ctr ${(await new Promise<string>((r) => { const c = spawn('ctr', ['--version']); let o = ''; c.stdout.on('data', (d) => (o += d)); c.on('exit', () => r(o.trim())); }))}; ${reps} reps; image ${(imageBytes(img) / MiB).toFixed(0)} MiB in ${img.layers.length} layers`);

    // Ingest and get: one long-lived daemon per side, used in turn.
    const dist = await startDist(join(tmp, 'dist-main'));
    const ctrd = await startContainerd(join(tmp, 'ctrd-main'));
    try {
      for (let i = 0; i < reps; i++) {
        const { file, digest } = blobs[i]!;
        const args = ['content', 'ingest', '--expected-size', String(SIZE), '--expected-digest', digest, `bench-${i}`];
        const sides = [async () => t.distIngest.push(await timed(dist.sock, args, file)), async () => t.ctrdIngest.push(await timed(ctrd.sock, args, file))];
        for (let k = 0; k < 2; k++) await sides[(k + i) % 2]!();
      }
      for (let i = 0; i < reps; i++) {
        const args = ['content', 'get', blobs[0]!.digest];
        const sides = [async () => t.distGet.push(await timed(dist.sock, args)), async () => t.ctrdGet.push(await timed(ctrd.sock, args))];
        for (let k = 0; k < 2; k++) await sides[(k + i) % 2]!();
      }
    } finally {
      await dist.stop();
      await ctrd.stop();
    }

    // Fetch: a fresh root for each side and rep (a fetch into a root holding the image moves nothing).
    for (let i = 0; i < reps; i++) {
      const sides = [
        async () => {
          const d = await startDist(join(tmp, `dist-fetch-${i}`));
          try {
            t.distFetch.push(await timed(d.sock, ['content', 'fetch', '--plain-http', name]));
          } finally {
            await d.stop();
          }
        },
        async () => {
          const c = await startContainerd(join(tmp, `ctrd-fetch-${i}`));
          try {
            t.ctrdFetch.push(await timed(c.sock, ['content', 'fetch', '--plain-http', name]));
          } finally {
            await c.stop();
          }
        },
      ];
      for (let k = 0; k < 2; k++) await sides[(k + i) % 2]!();
      await rm(join(tmp, `dist-fetch-${i}`), { recursive: true, force: true });
      await rm(join(tmp, `ctrd-fetch-${i}`), { recursive: true, force: true });
    }
  } finally {
    await reg.stop();
    await rm(tmp, { recursive: true, force: true });
  }
  const goal = { on: 'ratio' as const, goal: 'lower' as const, limit: 1.0 };
  const mbps = (ms: number, bytes: number) => `${(bytes / 1e6 / (ms / 1000)).toFixed(0)} MB/s`;
  const line = (figure: string, a: number[], b: number[], bytes: number) => {
    const r = row('serve', figure, Math.round(median(a)), 'ms', { name: 'containerd 1.6', value: Math.round(median(b)) }, goal, `median of ${a.length}; ${mbps(median(a), bytes)} vs ${mbps(median(b), bytes)}; samples dist ${a.map(Math.round).join('/')} ms, containerd ${b.map(Math.round).join('/')} ms`);
    log(`${figure.padEnd(44)} ${String(r.value).padStart(6)} ms   containerd ${String(r.baselineValue).padStart(6)} ms   ratio ${r.ratio?.toFixed(2)}×`);
    return r;
  };
  return [
    line('ctr content ingest 256 MiB', t.distIngest, t.ctrdIngest, SIZE),
    line('ctr content get 256 MiB', t.distGet, t.ctrdGet, SIZE),
    line('ctr content fetch 256 MiB image', t.distFetch, t.ctrdFetch, SIZE),
  ];
}

export const serveSuite: Suite = {
  name: 'serve',
  description: 'ctr against dist serve vs against containerd 1.6 (ingest, get, fetch of 256 MiB)',
  async run(ctx: Ctx): Promise<Row[]> {
    const reps = Math.max(1, Number(process.env.SERVE_BENCH_REPS) || (ctx.quick ? 1 : 3));
    return runServeBench((m) => ctx.log(`  ${m}`), reps);
  },
};
