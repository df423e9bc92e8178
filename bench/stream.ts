/**
 * Suite `stream`: `dist ingest` of one large stream on stdin (a file, then a pipe), MB/s
 * against hash-wasm's single-thread in-memory SHA-256 rate from the same run; peak RSS of the
 * ingest process for a 4 GiB stream (1 GiB with --quick).
 *
 * Target (issue): "1 GiB on stdin: ≥ 0.9× hash-wasm's single-thread in-memory rate on the
 * wasm path, ≥ 0.85× OpenSSL's on the native path"; peak RSS < 200 MiB for 4 GiB.
 */
import { openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import {
  benchScript,
  distCli,
  GiB,
  gnuTimeRss,
  haveGnuTime,
  mbps,
  median,
  MiB,
  removeTemp,
  row,
  runCli,
  runProc,
  tempDir,
  writeRandomFile,
  type Ctx,
  type Row,
  type Suite,
} from './lib/common.js';
import { sampleSingle } from './lib/limits.js';

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

async function run(ctx: Ctx): Promise<Row[]> {
  const S = 'stream';
  const rows: Row[] = [];
  const size = ctx.quick ? 256 * MiB : GiB;
  const reps = ctx.quick ? 1 : 2;
  const rssBytes = ctx.quick ? GiB : 4 * GiB;
  // Baselines are sampled right before each measured run (same machine load), medians.
  const wasmSamples: number[] = [];
  const baseline = () => ({ name: 'hash-wasm SHA-256 1 thread (in memory, adjacent)', value: median(wasmSamples) });

  const help = await runProc(process.execPath, [distCli, 'ingest', '--help']);
  const hasNative = /--hash\b/.test(help.stdout);
  const modes: Array<{ mode?: 'wasm' | 'native'; target: number }> = hasNative ? [{ mode: 'wasm', target: 0.9 }, { mode: 'native', target: 0.85 }] : [{ target: 0.9 }];

  const dir = tempDir('stream');
  try {
    const input = join(dir, 'input');
    await writeRandomFile(input, size);
    const label = `${size / MiB} MiB`;
    for (const { mode, target } of modes) {
      const extra = mode ? ['--hash', mode] : [];
      const impl = mode === 'native' ? 'native' : 'wasm';
      const samples: number[] = [];
      const sample = async () => {
        const x = await sampleSingle(impl, 'sha256');
        samples.push(x);
        if (impl === 'wasm') wasmSamples.push(x);
      };
      const tag = mode ? ` --hash ${mode}` : '';
      // stdin is the file itself
      const fileMs: number[] = [];
      const fileRss: number[] = [];
      for (let r = 0; r < reps; r++) {
        const root = tempDir('stream-store');
        await sample();
        const fd = openSync(input, 'r');
        try {
          const res = await runCli(root, ['ingest', ...extra, `bench-${r}`], { stdio: [fd, 'pipe', 'pipe'], rss: true });
          fileMs.push(res.ms);
          if (res.peakRss) fileRss.push(res.peakRss);
        } finally {
          closeSync(fd);
          removeTemp(root);
        }
      }
      const bl = { name: `${impl === 'native' ? 'node:crypto' : 'hash-wasm'} SHA-256 1 thread (in memory, adjacent)`, value: median(samples) };
      const fileRate = mbps(size, median(fileMs));
      ctx.log(`  ingest${tag} < file: ${fileRate.toFixed(0)} MB/s`);
      rows.push(row(S, `dist ingest${tag} < file (${label})`, fileRate, 'MB/s', bl, { on: 'ratio', goal: 'higher', limit: target }, `median of ${reps}; wall time of the whole process (startup and commit fsync included); baseline: median of 128 MiB samples taken right before each run`));

      // stdin is a pipe fed by cat
      const pipeMs: number[] = [];
      for (let r = 0; r < reps; r++) {
        const root = tempDir('stream-store');
        await sample();
        try {
          const res = await runProc('/bin/sh', ['-c', `cat ${shq(input)} | ${shq(process.execPath)} ${shq(distCli)} --root ${shq(root)} ingest${tag} bench-pipe-${r}`]);
          if (res.code !== 0) throw new Error(`cat | dist ingest exited ${res.code}: ${res.stderr}`);
          pipeMs.push(res.ms);
        } finally {
          removeTemp(root);
        }
      }
      const pipeRate = mbps(size, median(pipeMs));
      ctx.log(`  cat | ingest${tag}: ${pipeRate.toFixed(0)} MB/s`);
      rows.push(row(S, `cat file | dist ingest${tag} (${label})`, pipeRate, 'MB/s', { name: bl.name, value: median(samples) }, { on: 'ratio', goal: 'higher', limit: target }, `median of ${reps}`));
      if (fileRss.length) rows.push(row(S, `peak RSS, dist ingest${tag} < file (${label})`, median(fileRss) / MiB, 'MiB', undefined, { on: 'value', goal: 'lower', limit: 200, strict: true }));
    }
    if (!hasNative) {
      rows.push(row(S, 'native path (dist ingest --hash native)', NaN, '', undefined, undefined, 'not measured: `dist ingest --help` has no --hash option (streamed ingests hash with hash-wasm only)'));
    }
    removeTemp(dir);

    // Peak RSS for a long stream through a pipe from a generator (no source file on disk).
    if (haveGnuTime) {
      const root = tempDir('stream-rss');
      wasmSamples.push(await sampleSingle('wasm', 'sha256'));
      try {
        const res = await runProc('/bin/sh', [
          '-c',
          `${shq(process.execPath)} ${shq(benchScript('lib/gen.js'))} ${rssBytes} | /usr/bin/time -v ${shq(process.execPath)} ${shq(distCli)} --root ${shq(root)} ingest bench-rss`,
        ]);
        if (res.code !== 0) throw new Error(`gen | dist ingest exited ${res.code}: ${res.stderr.slice(0, 2000)}`);
        const rss = gnuTimeRss(res.stderr);
        const rate = mbps(rssBytes, res.ms);
        rows.push(row(S, `gen | dist ingest (${rssBytes / GiB} GiB) rate`, rate, 'MB/s', baseline(), { on: 'ratio', goal: 'higher', limit: 0.9 }, 'single run; generator shares the 2 CPUs'));
        if (rss !== undefined) {
          rows.push(row(S, `peak RSS, gen | dist ingest (${rssBytes / GiB} GiB)`, rss / MiB, 'MiB', undefined, { on: 'value', goal: 'lower', limit: 200, strict: true }, 'GNU time -v, ingest process only (its worker threads included)'));
        }
      } finally {
        removeTemp(root);
      }
    } else {
      rows.push(row(S, `peak RSS (${rssBytes / GiB} GiB)`, NaN, 'MiB', undefined, undefined, '/usr/bin/time not available; see the file-stdin RSS row (polled /proc)'));
    }
  } finally {
    removeTemp(dir);
  }
  return rows;
}

export const streamSuite: Suite = { name: 'stream', description: 'dist ingest of one large stream on stdin', run };
