/**
 * Suite `gc` (issue 10): "gc on a store of 100,000 blobs referenced by 1,000 images (half of
 * them untagged): mark + sweep time next to the time to list the blobs (readdir of every
 * blobs/<alg>) in the same run; goal ≤ 3× that listing. Memory for the mark set reported."
 *
 * Builds the store directly (1,000 OCI manifests, each with a config and 98 small layers:
 * 100,000 blobs named by their digests; 500 names in index.json). Then:
 *  - alternating pairs of (listing, `gc --dry-run` in-process: mark + sweep decision, no
 *    removal), median per-pair ratio — repeatable on the same store;
 *  - one real collection (removes the ~50,000 blobs of untagged images) next to a listing
 *    right before it.
 * The mark set's memory is the heap growth across marking, and its entry count.
 */
import { createHash, randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../src/index.js';
import { collectGarbage } from '../src/metadata/gc.js';
import { median, now, removeTemp, row, tempDir, type Ctx, type Row, type Suite } from './lib/common.js';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

function build(root: string, images: number, layersPer: number): { tagged: number; blobs: number } {
  const dir = join(root, 'blobs', 'sha256');
  mkdirSync(dir, { recursive: true });
  const put = (b: Buffer) => {
    const h = sha(b);
    writeFileSync(join(dir, h), b, { mode: 0o444 });
    return { digest: `sha256:${h}`, size: b.length };
  };
  const manifests = [];
  let blobs = 0;
  for (let i = 0; i < images; i++) {
    const layers = Array.from({ length: layersPer }, () => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...put(randomBytes(64)) }));
    const config = { mediaType: 'application/vnd.oci.image.config.v1+json', ...put(Buffer.from(JSON.stringify({ i, rootfs: { type: 'layers', diff_ids: [] } }))) };
    const m = put(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers })));
    blobs += layersPer + 2;
    manifests.push({ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...m, annotations: { 'org.opencontainers.image.ref.name': `bench/img-${i}:v1`, 'io.containerd.image.name': `bench/img-${i}:v1` } });
  }
  // Half of the images untagged: only every other name stays in index.json.
  const tagged = manifests.filter((_, i) => i % 2 === 0);
  writeFileSync(join(root, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: tagged }));
  writeFileSync(join(root, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  return { tagged: tagged.length, blobs };
}

function listing(root: string): number {
  const t = now();
  let n = 0;
  for (const alg of ['sha256', 'sha512', 'blake3']) {
    try {
      n += readdirSync(join(root, 'blobs', alg)).length;
    } catch {
      // absent
    }
  }
  if (n < 0) throw new Error('unreachable');
  return now() - t;
}

/** Blobs of the untagged images in a store made by build(): every blob not reachable from index.json. */
function collectDoomed(root: string, images: number, layersPer: number): string[] {
  const keep = new Set<string>();
  const index = JSON.parse(readFileSync(join(root, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
  for (const m of index.manifests) {
    keep.add(m.digest.slice(7));
    const doc = JSON.parse(readFileSync(join(root, 'blobs', 'sha256', m.digest.slice(7)), 'utf8')) as { config: { digest: string }; layers: Array<{ digest: string }> };
    keep.add(doc.config.digest.slice(7));
    for (const l of doc.layers) keep.add(l.digest.slice(7));
  }
  const dir = join(root, 'blobs', 'sha256');
  const out = readdirSync(dir).filter((n) => !keep.has(n)).map((n) => join(dir, n));
  if (out.length !== (images / 2) * (layersPer + 2)) throw new Error(`floor: ${out.length} files to remove`);
  return out;
}

function removeFiles(paths: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn('xargs', ['-0', 'rm', '-f'], { stdio: ['pipe', 'ignore', 'inherit'] });
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`xargs rm exited ${code}`))));
    p.stdin.end(paths.join('\0'));
  });
}

async function run(ctx: Ctx): Promise<Row[]> {
  const S = 'gc';
  const images = ctx.quick ? 200 : 1000;
  const layersPer = 98;
  const base = tempDir('gc');
  const root = join(base, 'store');
  try {
    const t0 = now();
    const { tagged, blobs } = build(root, images, layersPer);
    ctx.log(`  built ${blobs} blobs, ${images} images (${tagged} tagged) in ${((now() - t0) / 1000).toFixed(1)} s`);
    const store = openStore(root);

    const pairs = ctx.quick ? 3 : 5;
    const ratios: number[] = [];
    const lists: number[] = [];
    const drys: number[] = [];
    let markBytes = 0;
    let marked = 0;
    const load = loadavg()[0]!;
    for (let i = 0; i < pairs; i++) {
      const order = i % 2 === 0;
      let l = 0;
      let d = 0;
      for (const which of order ? ['list', 'gc'] : ['gc', 'list']) {
        if (which === 'list') l = listing(root);
        else {
          const t = now();
          const r = await collectGarbage(store, { dryRun: true, graceMs: 0 });
          d = now() - t;
          markBytes = r.markSetBytes;
          marked = r.referenced;
          if (r.removed.count !== blobs - tagged * (layersPer + 2)) throw new Error(`dry run would remove ${r.removed.count}, expected ${blobs - tagged * (layersPer + 2)}`);
        }
      }
      lists.push(l);
      drys.push(d);
      ratios.push(d / l);
    }
    const listBefore = listing(root);
    const t = now();
    const real = await collectGarbage(store, { graceMs: 0 });
    const realMs = now() - t;
    // The floor for removing that many files on this file system: a second store built the
    // same way, its unreferenced blobs removed by `xargs rm` (no marking at all).
    const floorRoot = join(base, 'floor');
    build(floorRoot, images, layersPer);
    const doomed = real.removed.digests.length ? collectDoomed(floorRoot, images, layersPer) : [];
    const tf = now();
    await removeFiles(doomed);
    const floorMs = now() - tf;
    ctx.log(`  listing ${median(lists).toFixed(1)} ms; gc dry ${median(drys).toFixed(1)} ms (median ratio ${median(ratios).toFixed(2)}); real gc ${realMs.toFixed(0)} ms removing ${real.removed.count}; load ${load.toFixed(2)}`);
    const steps = real.steps.map((s) => `${s.name} ${s.ms.toFixed(0)}`).join(', ');
    return [
      row(S, `gc --dry-run (mark + sweep decisions), ${blobs} blobs, ${images} images, half untagged`, median(drys), 'ms', { name: 'readdir of every blobs/<alg>', value: median(lists) }, { on: 'ratio', goal: 'lower', limit: 3 }, `median per-pair ratio ${median(ratios).toFixed(2)} over ${pairs} alternating pairs; load ${load.toFixed(2)}`),
      row(S, `gc removing ${real.removed.count} blobs (one run)`, realMs, 'ms', { name: 'readdir of every blobs/<alg>, just before', value: listBefore }, { on: 'ratio', goal: 'lower', limit: 3 }, `steps (ms): ${steps}`),
      row(S, `gc removing ${real.removed.count} blobs (one run)`, realMs, 'ms', { name: `rm of as many blobs (xargs rm, no marking)`, value: floorMs }, undefined, 'the unlink floor of this file system'),
      row(S, `mark set: ${marked} digests`, markBytes / 1024 / 1024, 'MiB', undefined, undefined, 'heap growth across the mark step'),
    ];
  } finally {
    removeTemp(base);
  }
}

export const gcSuite: Suite = { name: 'gc', description: 'garbage collection of 100,000 blobs vs listing them', run };
