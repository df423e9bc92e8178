/**
 * Pull benchmark: the 256 MiB image (test/registry/helpers/big-image.ts) from a local
 * registry (scripts/registry.sh), `dist pull` against `skopeo copy docker://… oci:…` measured
 * in the same run — cold (empty store) and warm (store already holds every blob; skopeo
 * copying into an OCI layout that holds them). Both sides are whole CLI processes; the
 * in-process library pull (no Node start-up) is reported too, with each hash engine
 * (native = `dist pull` default, wasm = `--hash wasm`, the store's default). Medians of PULL_BENCH_REPS
 * (default 3) runs; each figure is printed next to its baseline with the ratio (target for
 * cold: ≤ 0.6×).
 *
 *   node dist/bench/pull.js            # standalone (after npm run build)
 *   runPullBench()                     # from a suite runner
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { bigImage } from '../test/registry/helpers/big-image.js';
import { imageBytes } from '../test/registry/helpers/image.js';
import { pushImage } from '../test/registry/helpers/push.js';
import { repoRoot, startRegistry } from '../test/registry/helpers/registry.js';
import { openStore } from '../src/local/store.js';
import { closeDefaultEngine } from '../src/hash/engine.js';
import { nativeEngine } from '../src/hash/native.js';
import { RegistryClient } from '../src/remote/client.js';
import { pull } from '../src/remote/pull.js';
import { parseReference } from '../src/remote/reference.js';

const run = promisify(execFile);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

function distCli(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(repoRoot(), 'dist', 'src', 'cli', 'main.js'), ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`dist ${args.join(' ')}: exit ${code}: ${err}`))));
  });
}

export async function runPullBench(log: (msg: string) => void = console.log): Promise<Record<string, unknown>> {
  const reps = Math.max(1, Number(process.env.PULL_BENCH_REPS) || 3);
  const reg = await startRegistry();
  const tmp = await mkdtemp(join(tmpdir(), 'ck-pull-bench-'));
  try {
    const img = await bigImage('bench');
    await pushImage({ host: reg.host }, 'bench/img', 'v1', img);
    const name = `${reg.host}/bench/img:v1`;
    const bytes = imageBytes(img);
    const skopeoVersion = (await run('skopeo', ['--version'])).stdout.trim();
    log(`image: ${(bytes / 2 ** 20).toFixed(1)} MiB in ${img.layers.length} layers; ${reps} reps; ${skopeoVersion}`);

    const t = {
      distCold: [] as number[], distColdWasm: [] as number[], skopeoCold: [] as number[], distWarm: [] as number[], skopeoWarm: [] as number[],
      libCold: [] as number[], libColdWasm: [] as number[], libWarm: [] as number[],
    };
    const skopeo = (layout: string) => run('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${name}`, `oci:${layout}:${name}`]);
    const lib = async (root: string, native: boolean) => {
      const store = openStore(root, native ? { engine: nativeEngine } : {});
      try {
        await pull({ store, client: new RegistryClient({ host: reg.host, plainHttp: true }), reference: parseReference(name) });
      } finally {
        await store.close();
      }
    };
    for (let i = 0; i < reps; i++) {
      const d = (k: string) => join(tmp, `${k}-${i}`);
      // Rotate the order so page cache and registry warm-up favour no side.
      const cold = [
        async () => t.distCold.push(await time(() => distCli(['--root', d('dist'), 'pull', '--plain-http', name]))),
        async () => t.distColdWasm.push(await time(() => distCli(['--root', d('wasm'), 'pull', '--plain-http', '--hash', 'wasm', name]))),
        async () => t.skopeoCold.push(await time(() => skopeo(d('skopeo')))),
        async () => t.libCold.push(await time(() => lib(d('lib'), true))),
        async () => t.libColdWasm.push(await time(() => lib(d('libwasm'), false))),
      ];
      for (let k = 0; k < cold.length; k++) await cold[(k + i) % cold.length]!();
      t.distWarm.push(await time(() => distCli(['--root', d('dist'), 'pull', '--plain-http', name])));
      t.skopeoWarm.push(await time(() => skopeo(d('skopeo'))));
      t.libWarm.push(await time(() => lib(d('lib'), true)));
      await Promise.all(['dist', 'wasm', 'skopeo', 'lib', 'libwasm'].map((k) => rm(d(k), { recursive: true, force: true })));
    }

    const mbps = (ms: number) => Number((bytes / 1e6 / (ms / 1000)).toFixed(1));
    const row = (figure: string, ms: number[], baseline: string, base: number[]) => {
      const a = median(ms);
      const b = median(base);
      return { figure, ms: Math.round(a), MBps: mbps(a), baseline, baselineMs: Math.round(b), baselineMBps: mbps(b), ratio: Number((a / b).toFixed(2)) };
    };
    const rows = [
      row('dist pull (cold, CLI; --hash native, default)', t.distCold, 'skopeo copy (cold)', t.skopeoCold),
      row('dist pull --hash wasm (cold, CLI)', t.distColdWasm, 'skopeo copy (cold)', t.skopeoCold),
      row('dist pull (warm: every blob present, CLI)', t.distWarm, 'skopeo copy (warm)', t.skopeoWarm),
      row('pull() in-process, native (cold)', t.libCold, 'skopeo copy (cold)', t.skopeoCold),
      row('pull() in-process, wasm (cold)', t.libColdWasm, 'skopeo copy (cold)', t.skopeoCold),
      row('pull() in-process (warm)', t.libWarm, 'skopeo copy (warm)', t.skopeoWarm),
    ];
    for (const r of rows) {
      log(`${r.figure.padEnd(48)} ${String(r.ms).padStart(6)} ms ${String(r.MBps).padStart(7)} MB/s   vs ${r.baseline.padEnd(20)} ${String(r.baselineMs).padStart(6)} ms   ratio ${r.ratio}×`);
    }
    return { imageBytes: bytes, reps, skopeo: skopeoVersion, rows, samplesMs: t, target: 'dist pull (cold, CLI) / skopeo copy (cold) ≤ 0.6' };
  } finally {
    await reg.stop();
    await rm(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // The default hash pool belongs to the process: closed here, not in runPullBench().
  runPullBench().finally(closeDefaultEngine).then(
    (r) => console.log(JSON.stringify(r)),
    (err) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
