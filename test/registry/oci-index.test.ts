/**
 * index.json under contention: many processes recording names at once lose none (lock,
 * re-read, atomic replace), and re-recording a name replaces its entry.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { repoRoot } from './helpers/registry.js';
import { listImages, recordImage } from '../../src/oci/images.js';
import { readIndexJson } from './helpers/store-check.js';
import { readFileSync } from 'node:fs';

const D = (i: number) => `sha256:${i.toString(16).padStart(64, '0')}`;

test('8 processes × 10 names recorded concurrently: all 80 present, file valid', async () => {
  const root = await mkdtemp(join(tmpdir(), 'ck-index-'));
  try {
    const lib = join(repoRoot(), 'dist', 'src', 'oci', 'images.js');
    const script = `
      const { recordImage } = await import(${JSON.stringify(lib)});
      const p = Number(process.argv[1]);
      await Promise.all(Array.from({ length: 10 }, (_, i) => recordImage(process.argv[2], {
        name: 'reg.example/p' + p + '/img:' + i, mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: 'sha256:' + (p * 100 + i).toString(16).padStart(64, '0'), size: 100 + i })));`;
    const runs = Array.from({ length: 8 }, (_, p) =>
      new Promise<number | null>((resolve) => {
        const c = spawn(process.execPath, ['--input-type=module', '-e', script, String(p), root], { stdio: ['ignore', 'ignore', 'inherit'] });
        c.once('exit', resolve);
      }),
    );
    expect(await Promise.all(runs)).toEqual(Array(8).fill(0));
    const names = (await listImages(root)).map((r) => r.name);
    expect(names).toHaveLength(80);
    expect(new Set(names).size).toBe(80);
    expect(JSON.parse(readFileSync(join(root, 'oci-layout'), 'utf8'))).toEqual({ imageLayoutVersion: '1.0.0' });

    await recordImage(root, { name: 'reg.example/p0/img:0', mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: D(999), size: 1 });
    const again = readIndexJson(root).manifests.filter((m) => m.annotations?.['org.opencontainers.image.ref.name'] === 'reg.example/p0/img:0');
    expect(again).toEqual([expect.objectContaining({ digest: D(999) })]);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('a corrupt index.json is reported, never silently overwritten', async () => {
  const root = await mkdtemp(join(tmpdir(), 'ck-index-bad-'));
  try {
    await writeFile(join(root, 'index.json'), '{"schemaVersion": 2, "manif');
    await expect(recordImage(root, { name: 'x/y:z', mediaType: 'm', digest: D(1), size: 1 })).rejects.toMatchObject({ kind: 'DataLoss' });
    expect(readFileSync(join(root, 'index.json'), 'utf8')).toBe('{"schemaVersion": 2, "manif');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
