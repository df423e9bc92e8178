/**
 * Suite `push` (issue 13): the 256 MiB test image (test/registry/helpers/big-image.ts: four
 * 64 MiB tar layers) pushed from an OCI layout — the store root, after `dist pull` — to an
 * empty registry, whole CLI processes against the reference in the same run:
 *
 *   dist push --plain-http NAME HOST/bench/img:v1
 *   skopeo copy --preserve-digests oci:ROOT:NAME docker://HOST/bench/img:v1
 *
 * `--preserve-digests` keeps skopeo from gzipping the uncompressed layers on the way (it
 * otherwise does, for a docker:// destination, and pushes other digests), so both move the
 * same 256 MiB. Every timed run pushes to a registry started for it (untimed): nothing is
 * there to skip or mount, and neither tool's memory of earlier pushes (skopeo's blob-info
 * cache, dist's upload records) can name a source on a registry it has never seen. Pairs
 * alternate which tool runs first; `sync` before each run so no run pays for the previous
 * one's writeback. Target: dist ≤ 0.8× skopeo (median of the per-pair ratios).
 *
 * A second figure (no target): pushing again to a registry that has every blob (HEAD checks
 * and one manifest PUT), against skopeo doing the same.
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { bigImage } from '../test/registry/helpers/big-image.js';
import { imageBytes } from '../test/registry/helpers/image.js';
import { pushImage } from '../test/registry/helpers/push.js';
import { startRegistry, type Registry } from '../test/registry/helpers/registry.js';
import { distCli, MiB, row, summarizePairs, type Pair, runCli, runProc, tempDir, type Ctx, type Row, type Suite } from './lib/common.js';

const S = 'push';

async function timedOk(cmd: string, args: string[], what: string): Promise<number> {
  execFileSync('sync');
  const r = await runProc(cmd, args);
  if (r.code !== 0) throw new Error(`${what}: exit ${r.code ?? r.signal}: ${r.stderr.slice(0, 500)}`);
  return r.ms;
}

async function run(ctx: Ctx): Promise<Row[]> {
  const reps = ctx.quick ? 3 : 7;
  const base = tempDir('push');
  const root = join(base, 'store');
  const upstream = await startRegistry();
  try {
    const img = await bigImage('push-bench');
    await pushImage({ host: upstream.host }, 'bench/img', 'v1', img);
    const name = `${upstream.host}/bench/img:v1`;
    await runCli(root, ['pull', '--plain-http', name]);
    const skopeoVersion = execFileSync('skopeo', ['--version'], { encoding: 'utf8' }).trim();
    ctx.log(`  image ${(imageBytes(img) / MiB).toFixed(0)} MiB in ${img.layers.length} layers; ${reps} pairs; ${skopeoVersion}`);

    const dist = (host: string) => timedOk(process.execPath, [distCli, '--root', root, 'push', '--plain-http', name, `${host}/bench/img:v1`], 'dist push');
    const skopeo = (host: string) =>
      timedOk('skopeo', ['copy', '-q', '--preserve-digests', '--dest-tls-verify=false', `oci:${root}:${name}`, `docker://${host}/bench/img:v1`], 'skopeo copy');

    const cold: Pair[] = [];
    const warm: Pair[] = [];
    const loads: number[] = [];
    for (let i = 0; i < reps; i++) {
      let ours: Registry | undefined;
      let theirs: Registry | undefined;
      try {
        [ours, theirs] = await Promise.all([startRegistry(), startRegistry()]);
        rmSync(join(root, 'uploads'), { recursive: true, force: true });
        loads.push(loadavg()[0]);
        const a = () => dist(ours!.host);
        const b = () => skopeo(theirs!.host);
        const pair: Pair = { ours: 0, theirs: 0 };
        if (i % 2 === 0) {
          pair.ours = await a();
          pair.theirs = await b();
        } else {
          pair.theirs = await b();
          pair.ours = await a();
        }
        cold.push(pair);
        // Again, into the same registries: every blob is there.
        const again: Pair = { ours: 0, theirs: 0 };
        if (i % 2 === 0) {
          again.ours = await a();
          again.theirs = await b();
        } else {
          again.theirs = await b();
          again.ours = await a();
        }
        warm.push(again);
      } finally {
        await Promise.all([ours?.stop(), theirs?.stop()]);
      }
    }
    const c = summarizePairs(cold);
    const w = summarizePairs(warm);
    ctx.log(`  cold: per-pair ratios ${c.ratios}; warm: ${w.ratios}`);
    const mbps = (ms: number) => (imageBytes(img) / 1e6 / (ms / 1000)).toFixed(0);
    const load = `load average ${Math.min(...loads).toFixed(2)}–${Math.max(...loads).toFixed(2)} at the pairs' start`;
    const coldRow = row(S, `dist push, 256 MiB image to an empty registry (CLI)`, c.ours, 'ms', { name: 'skopeo copy --preserve-digests oci: → docker:// (CLI)', value: c.theirs },
      { on: 'ratio', goal: 'lower', limit: 0.8 },
      `ratio = median of ${reps} per-pair ratios (${c.ratios}), pairs alternate which runs first, each run into a fresh registry; ${mbps(c.ours)} vs ${mbps(c.theirs)} MB/s (medians); ${load}`);
    coldRow.ratio = c.ratio;
    coldRow.met = c.ratio <= 0.8;
    const warmRow = row(S, `dist push again (every blob in the repository: HEAD checks, one manifest PUT)`, w.ours, 'ms', { name: 'skopeo copy, same', value: w.theirs }, undefined,
      `ratio = median of ${reps} per-pair ratios (${w.ratios}); reported, no target`);
    warmRow.ratio = w.ratio;
    return [coldRow, warmRow];
  } finally {
    await upstream.stop();
  }
}

export const pushSuite: Suite = { name: 'push', description: 'dist push vs skopeo copy oci: → docker:// (256 MiB image, empty registry)', run };
