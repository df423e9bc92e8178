/**
 * Suite `unpack` (issue 12), whole processes against real peers in the same run:
 *
 * 1. The 256 MiB test image (test/registry/helpers/big-image.ts: four 64 MiB tar layers),
 *    pulled once from a local registry; then, per pair, `dist bundle` from an empty
 *    snapshot store and `umoci unpack` of the same image from the same OCI layout (the
 *    store root), in alternating order. Target: dist ≤ 0.7× umoci (median per-pair ratio),
 *    for the default snapshotter; the other snapshotter is reported too.
 * 2. One 64 MiB (uncompressed) gzip layer: `dist apply DIR < layer` vs `tar -xzf layer -C DIR`,
 *    alternating; the median per-pair ratio is reported (no target).
 *
 * Between runs (untimed): overlay bundles are unmounted, the snapshot store and the output
 * directories removed, so every timed run unpacks every layer, and `sync` flushes the dirty
 * pages of the previous run — without it, whichever side runs second pays the first one's
 * writeback (seen as 0.35× vs 0.8× ratios depending on the order).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { bigImage } from '../test/registry/helpers/big-image.js';
import { imageBytes } from '../test/registry/helpers/image.js';
import { pushImage } from '../test/registry/helpers/push.js';
import { startRegistry } from '../test/registry/helpers/registry.js';
import { tarChunks, type TarFile } from '../test/registry/helpers/tar.js';
import { defaultDriver } from '../src/snapshots/open.js';
import { isMountPoint } from '../src/snapshots/mount.js';
import { distCli, MiB, row, summarizePairs, type Pair, runCli, runProc, tempDir, type Ctx, type Row, type Suite } from './lib/common.js';

const S = 'unpack';

async function ok(p: Promise<{ code: number | null; stderr: string; ms: number }>, what: string): Promise<number> {
  const r = await p;
  if (r.code !== 0) throw new Error(`${what}: exit ${r.code}: ${r.stderr.slice(0, 500)}`);
  return r.ms;
}

/** Writes back every dirty page (untimed), so no run pays for the previous one's writes. */
function flush(): void {
  execFileSync('sync');
}

function clean(root: string, dirs: string[]): void {
  for (const d of dirs) {
    const rootfs = join(d, 'rootfs');
    try {
      execFileSync('umount', [rootfs], { stdio: 'ignore' });
    } catch {
      // not mounted (naive, umoci)
    }
    rmSync(d, { recursive: true, force: true });
  }
  rmSync(join(root, 'snapshots'), { recursive: true, force: true });
}

async function bundleVsUmoci(ctx: Ctx, base: string, reps: number): Promise<Row[]> {
  const reg = await startRegistry();
  try {
    const img = await bigImage('unpack');
    await pushImage({ host: reg.host }, 'bench/unpack', 'v1', img);
    const name = `${reg.host}/bench/unpack:v1`;
    const root = join(base, 'store');
    await runCli(root, ['pull', '--plain-http', name]);
    const umociVersion = execFileSync('umoci', ['--version'], { encoding: 'utf8' }).trim();
    const def = await defaultDriver();
    const drivers = def === 'overlay' ? ['overlay', 'naive'] : ['naive'];
    ctx.log(`  image ${(imageBytes(img) / MiB).toFixed(0)} MiB in ${img.layers.length} layers; ${reps} pairs per driver; ${umociVersion}; default snapshotter ${def}`);
    const rows: Row[] = [];
    for (const driver of drivers) {
      const pairs: Pair[] = [];
      const loads: number[] = [];
      for (let i = 0; i < reps; i++) {
        const ours = join(base, `bundle-${driver}-${i}`);
        const theirs = join(base, `umoci-${driver}-${i}`);
        clean(root, [ours, theirs]);
        loads.push(loadavg()[0]);
        const runOurs = () => (flush(), ok(runProc(process.execPath, [distCli, '--root', root, 'bundle', '--snapshotter', driver, name, ours]), 'dist bundle'));
        const runTheirs = () => (flush(), ok(runProc('umoci', ['unpack', '--image', `${root}:${name}`, theirs]), 'umoci unpack'));
        let a: number;
        let b: number;
        if (i % 2 === 0) {
          a = await runOurs();
          b = await runTheirs();
        } else {
          b = await runTheirs();
          a = await runOurs();
        }
        if (driver === 'overlay' && !(await isMountPoint(join(ours, 'rootfs')))) throw new Error('overlay bundle rootfs is not mounted');
        pairs.push({ ours: a, theirs: b });
        clean(root, [ours, theirs]);
      }
      const s = summarizePairs(pairs);
      ctx.log(`  ${driver}: per-pair ratios ${s.ratios}`);
      rows.push(
        row(S, `dist bundle --snapshotter ${driver}${driver === def ? ' (default)' : ''}, 256 MiB image (CLI)`, s.ours, 'ms', { name: 'umoci unpack, same image (CLI)', value: s.theirs },
          driver === def ? { on: 'ratio', goal: 'lower', limit: 0.7 } : undefined,
          `ratio = median of ${reps} per-pair ratios (${s.ratios}), pairs alternate which runs first; load average ${Math.min(...loads).toFixed(2)}–${Math.max(...loads).toFixed(2)} at the pairs' start; ${driver === 'overlay' ? 'rootfs is an overlay mount of a new snapshot (no copy)' : 'rootfs is a copy (cp -a) of the top snapshot'}`),
      );
      rows[rows.length - 1]!.ratio = s.ratio;
      rows[rows.length - 1]!.met = driver === def ? s.ratio <= 0.7 : undefined;
    }
    return rows;
  } finally {
    await reg.stop();
  }
}

/** A 64 MiB tar of 256 files, half incompressible, half text-like, gzip -6. */
async function gzipLayer(path: string): Promise<{ tarBytes: number; gzBytes: number; diffId: string }> {
  const files: TarFile[] = Array.from({ length: 128 }, (_, i) => ({ name: `data/random-${i}.bin`, size: 256 << 10, seed: `gz-${i}` }));
  const parts: Buffer[] = [];
  for await (const c of tarChunks(files)) parts.push(Buffer.from(c));
  const random = Buffer.concat(parts).subarray(0, -1024); // drop the end-of-archive blocks, more entries follow
  const text: Buffer[] = [];
  const line = (i: number) => `${i.toString(16).padStart(8, '0')} the quick brown fox jumps over the lazy dog ${(i * 7919) % 10007}\n`;
  for (let f = 0; f < 128; f++) {
    let body = '';
    for (let i = 0; body.length < 256 << 10; i++) body += line(f * 100_000 + i);
    const data = Buffer.from(body).subarray(0, 256 << 10);
    const h = Buffer.alloc(512);
    h.write(`text/file-${f}.txt`, 0);
    h.write('0000644\0', 100);
    h.write('0000000\0', 108);
    h.write('0000000\0', 116);
    h.write(data.length.toString(8).padStart(11, '0') + '\0', 124);
    h.write('14540000000\0', 136);
    h.write('        ', 148);
    h.write('0', 156);
    h.write('ustar\0', 257);
    h.write('00', 263);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
    text.push(h, data);
  }
  const tar = Buffer.concat([random, ...text, Buffer.alloc(1024)]);
  const gz = gzipSync(tar, { level: 6 });
  writeFileSync(path, gz);
  return { tarBytes: tar.length, gzBytes: gz.length, diffId: `sha256:${createHash('sha256').update(tar).digest('hex')}` };
}

async function applyVsTar(ctx: Ctx, base: string, reps: number): Promise<Row[]> {
  const layer = join(base, 'layer.tar.gz');
  const { tarBytes, gzBytes, diffId } = await gzipLayer(layer);
  ctx.log(`  gzip layer: ${(tarBytes / MiB).toFixed(1)} MiB uncompressed, ${(gzBytes / MiB).toFixed(1)} MiB gzip; ${reps} pairs`);
  const pairs: Pair[] = [];
  const loads: number[] = [];
  for (let i = 0; i < reps; i++) {
    const ours = join(base, `apply-${i}`);
    const theirs = join(base, `tar-${i}`);
    mkdirSync(theirs);
    loads.push(loadavg()[0]);
    const runOurs = async () => {
      flush();
      const r = await runProc(process.execPath, [distCli, 'apply', '--expected-diff-id', diffId, ours], { stdinFile: layer });
      if (r.code !== 0) throw new Error(`dist apply: ${r.stderr}`);
      return r.ms;
    };
    const runTheirs = () => (flush(), ok(runProc('tar', ['-xzf', layer, '-C', theirs]), 'tar -xzf'));
    let a: number;
    let b: number;
    if (i % 2 === 0) {
      a = await runOurs();
      b = await runTheirs();
    } else {
      b = await runTheirs();
      a = await runOurs();
    }
    pairs.push({ ours: a, theirs: b });
    rmSync(ours, { recursive: true, force: true });
    rmSync(theirs, { recursive: true, force: true });
  }
  const s = summarizePairs(pairs);
  ctx.log(`  apply: per-pair ratios ${s.ratios}`);
  const r = row(S, `dist apply of one gzip layer (${(tarBytes / MiB).toFixed(0)} MiB tar, ${(gzBytes / MiB).toFixed(0)} MiB gz; CLI, diffID checked)`, s.ours, 'ms', { name: 'tar -xzf (GNU tar + gzip)', value: s.theirs }, undefined,
    `ratio = median of ${reps} per-pair ratios (${s.ratios}), alternating order; load average ${Math.min(...loads).toFixed(2)}–${Math.max(...loads).toFixed(2)}; reported, no target`);
  r.ratio = s.ratio;
  return [r];
}

async function run(ctx: Ctx): Promise<Row[]> {
  const base = tempDir('unpack');
  const reps = ctx.quick ? 3 : 7;
  return [...(await bundleVsUmoci(ctx, base, reps)), ...(await applyVsTar(ctx, base, reps))];
}

export const unpackSuite: Suite = { name: 'unpack', description: 'dist bundle vs umoci unpack (256 MiB image); dist apply vs tar -xzf (64 MiB gzip layer)', run };
