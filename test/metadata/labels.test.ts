/**
 * Issue 10 — labels on blobs: containerd's update semantics (set, remove with an empty value,
 * replace only the named field paths), `dist label` and `dist info`, and many processes
 * updating one blob's labels at once without losing any.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cli, REPO, sha256, useScratch } from '../multiprocess/helpers.js';

const { newRoot } = useScratch('labels');
const lib = () => import(pathToFileURL(join(REPO, 'dist/src/index.js')).href);

async function stored(root: string, content: string): Promise<string> {
  const r = await cli(root, ['ingest', 'x-' + content], { input: content });
  expect(r.code, r.stderr).toBe(0);
  return sha256(content);
}

describe('store.update', () => {
  it('sets, removes with an empty value, and changes only the named field paths', async () => {
    const root = await newRoot();
    const d = await stored(root, 'labelled');
    const { openStore } = await lib();
    const store = openStore(root);
    expect((await store.info(d)).labels).toEqual({});
    expect((await store.update(d, { labels: { a: '1', b: '2' } })).labels).toEqual({ a: '1', b: '2' });
    // Only labels.b and labels.c: a stays, b changes, c appears.
    expect((await store.update(d, { labels: { b: '3', c: '4', a: 'ignored' } }, ['labels.b', 'labels.c'])).labels).toEqual({ a: '1', b: '3', c: '4' });
    // An empty value (or none) under a named path removes the key.
    expect((await store.update(d, { labels: { a: '' } }, ['labels.a', 'labels.c'])).labels).toEqual({ b: '3' });
    // No field paths, or `labels`: the given set replaces all (empty values dropped).
    expect((await store.update(d, { labels: { z: '9', y: '' } })).labels).toEqual({ z: '9' });
    expect((await store.update(d, { labels: {} }, ['labels'])).labels).toEqual({});
    await expect(store.update(d, { labels: {} }, ['size'])).rejects.toMatchObject({ kind: 'InvalidArgument', code: 'ERR_INVALID_FIELDPATH' });
    await expect(store.update(d, { labels: { k: 'x'.repeat(5000) } })).rejects.toMatchObject({ kind: 'InvalidArgument', code: 'ERR_INVALID_LABELS' });
    await expect(store.update(sha256('absent'), { labels: { a: '1' } })).rejects.toMatchObject({ kind: 'NotFound' });
    // Deleting the blob drops its labels: stored again, it starts unlabelled.
    await store.update(d, { labels: { keep: 'me' } });
    await store.delete(d);
    await stored(root, 'labelled');
    expect((await store.info(d)).labels).toEqual({});
  });
});

describe('dist label / dist info', () => {
  it('KEY=VALUE sets, KEY= removes, info shows them; errors have their exit codes', async () => {
    const root = await newRoot();
    const d = await stored(root, 'cli');
    const set = await cli(root, ['label', d, 'containerd.io/gc.root=2026', 'team=ck']);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toBe('containerd.io/gc.root=2026\nteam=ck\n');
    const rm = await cli(root, ['label', d, 'team=']);
    expect(rm.stdout).toBe('containerd.io/gc.root=2026\n');
    const info = await cli(root, ['info', '--json', d]);
    expect(JSON.parse(info.stdout)[0].labels).toEqual({ 'containerd.io/gc.root': '2026' });
    expect((await cli(root, ['info', d])).stdout).toMatch(/LABELS\n.*containerd\.io\/gc\.root=2026\n$/);
    expect((await cli(root, ['label', sha256('nope'), 'a=b'])).code).toBe(3);
    expect((await cli(root, ['label', d, 'novalue'])).code).toBe(7);
    expect((await cli(root, ['label', 'sha256:xyz', 'a=b'])).code).toBe(2);
  });
});

describe('concurrent updates', () => {
  it('8 processes × 100 label updates on one blob: none lost', async () => {
    const root = await newRoot();
    const d = await stored(root, 'contended');
    const script = `
      const { openStore } = await import(${JSON.stringify(pathToFileURL(join(REPO, 'dist/src/index.js')).href)});
      const store = openStore(process.argv[1]);
      const p = process.argv[2];
      let next = 0;
      // 4 updates in flight per process: contention inside each process too.
      await Promise.all(Array.from({ length: 4 }, async () => {
        while (next < 100) { const j = next++; await store.update(process.argv[3], { labels: { ['p' + p + '-' + j]: String(j) } }, ['labels.p' + p + '-' + j]); }
      }));`;
    const runs = Array.from({ length: 8 }, (_, p) =>
      new Promise<{ code: number | null; err: string }>((resolve) => {
        const c = spawn(process.execPath, ['--input-type=module', '-e', script, root, String(p), d], { stdio: ['ignore', 'ignore', 'pipe'] });
        let err = '';
        c.stderr.on('data', (x) => (err += x));
        c.on('close', (code) => resolve({ code, err }));
      }),
    );
    const results = await Promise.all(runs);
    expect(results.map((r) => r.code), results.map((r) => r.err).join('\n')).toEqual(Array(8).fill(0));
    const { openStore } = await lib();
    const labels = (await openStore(root).info(d)).labels;
    expect(Object.keys(labels).length).toBe(800);
    for (let p = 0; p < 8; p++) for (let j = 0; j < 100; j++) expect(labels[`p${p}-${j}`]).toBe(String(j));
  }, 120_000);
});
