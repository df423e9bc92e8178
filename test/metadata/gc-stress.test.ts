/**
 * Issue 10 — the concurrency guarantee under load: 4 processes pull, check, untag and
 * re-pull images that share layers, while 2 processes run `dist gc --grace 0s` in a loop,
 * for at least 30 s (CK_GC_STRESS_MS). After every pull that returned 0, its image is
 * complete; at the end `verify` is clean, every listed image is complete, and after
 * untagging everything and one more gc the store holds no blob at all.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { dist } from '../registry/helpers/cli.js';
import { image, index, layer, type Image } from '../registry/helpers/image.js';
import { pushImage, pushIndex } from '../registry/helpers/push.js';
import { startRegistry, type Registry } from '../registry/helpers/registry.js';
import { blobFiles } from '../registry/helpers/store-check.js';

const DURATION = Number(process.env.CK_GC_STRESS_MS ?? 30_000);
const WORKERS = 4;
const SHAPES = ['oci', 'docker', 'multi'] as const;

let reg: Registry;
let tmp: string;

beforeAll(async () => {
  reg = await startRegistry();
  tmp = await mkdtemp(join(tmpdir(), 'ck-gcstress-'));
  const t = { host: reg.host };
  const base = await layer([{ name: 'base.bin', size: 256 << 10, seed: 'stress-base' }]);
  const l = (n: string) => layer([{ name: `${n}.bin`, size: 64 << 10, seed: n }]);
  const oci = image([base, await l('s-oci')], { label: 'oci' });
  const docker = image([base, await l('s-docker')], { format: 'docker', label: 'docker' });
  const amd: Image = image([base, await l('s-amd')], { platform: { os: 'linux', architecture: 'amd64' }, label: 'amd' });
  const arm: Image = image([base, await l('s-arm')], { platform: { os: 'linux', architecture: 'arm64' }, label: 'arm' });
  // The same content under a repository per worker and shape: names are each worker's own,
  // blobs are shared by all.
  for (let w = 0; w < WORKERS; w++) {
    await pushImage(t, `stress/w${w}-oci`, 'v1', oci);
    await pushImage(t, `stress/w${w}-docker`, 'v1', docker);
    await pushIndex(t, `stress/w${w}-multi`, 'v1', [amd, arm], index([amd, arm]));
  }
}, 120_000);

afterAll(async () => {
  await reg?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

type Row = { name: string; missing: number };
const listed = async (root: string): Promise<Row[]> => {
  const r = await dist(['images', '--json'], { root });
  if (r.code !== 0) throw new Error(`images: ${r.stderr}`);
  return JSON.parse(r.stdout.toString()) as Row[];
};

test(`4 pullers and 2 collectors for ${DURATION / 1000}s: every pull that returned 0 left a complete image`, async () => {
  const root = await mkdtemp(join(tmp, 'store-'));
  const end = Date.now() + DURATION;
  const problems: string[] = [];
  const counts = { pulls: 0, untags: 0, gcs: 0, removed: 0 };

  const puller = async (w: number) => {
    let i = 0;
    while (Date.now() < end) {
      const shape = SHAPES[i++ % SHAPES.length]!;
      const name = `${reg.host}/stress/w${w}-${shape}:v1`;
      const p = await dist(['pull', '--plain-http', ...(shape === 'multi' ? ['--all-platforms'] : []), name], { root });
      if (p.code !== 0) {
        problems.push(`pull ${name}: exit ${p.code}: ${p.stderr}`);
        continue;
      }
      counts.pulls++;
      // Only this worker changes this name: the image must be complete now, collectors or not.
      const row = (await listed(root)).find((r) => r.name === name);
      if (!row) problems.push(`${name} not listed after its pull returned 0`);
      else if (row.missing) problems.push(`${name}: ${row.missing} blob(s) missing right after its pull returned 0`);
      // Untag at once (most of the time): blobs become unreferenced between one worker's
      // untag and another's pull — the window a collector must never exploit.
      if (i % 4 !== 0) {
        const u = await dist(['images', 'rm', name], { root });
        if (u.code !== 0) problems.push(`images rm ${name}: ${u.stderr}`);
        else counts.untags++;
      }
    }
  };
  const collector = async () => {
    while (Date.now() < end) {
      const g = await dist(['gc', '--grace', '0s', '--json'], { root });
      if (g.code !== 0) problems.push(`gc: exit ${g.code}: ${g.stderr}`);
      else {
        counts.gcs++;
        counts.removed += (JSON.parse(g.stdout.toString()) as { removed: { count: number } }).removed.count;
      }
    }
  };
  await Promise.all([...Array.from({ length: WORKERS }, (_, w) => puller(w)), collector(), collector()]);
  console.log(`gc stress: ${JSON.stringify(counts)}`);
  expect(problems).toEqual([]);
  // The collectors really removed things while pulls ran (untagged images' blobs).
  expect(counts.pulls).toBeGreaterThan(10);
  expect(counts.gcs).toBeGreaterThan(4);
  expect(counts.removed).toBeGreaterThan(0);

  const v = await dist(['verify'], { root });
  expect(v.code, v.stderr).toBe(0);
  const rows = await listed(root);
  expect(rows.filter((r) => r.missing)).toEqual([]);
  if (rows.length) expect((await dist(['images', 'rm', ...rows.map((r) => r.name)], { root })).code).toBe(0);
  const g = await dist(['gc', '--grace', '0s'], { root });
  expect(g.code, g.stderr).toBe(0);
  expect(blobFiles(root)).toEqual([]);
}, DURATION + 180_000);
