/**
 * `dist snapshots ls|rm|mounts|usage` and bundle's refusals, as a user runs them: output
 * formats, exit codes per error kind, one-line errors.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { makeFixture, type Fixture } from './helpers/fixture.js';

let f: Fixture;
beforeAll(async () => {
  f = await makeFixture('naive');
  await f.sn.prepare('a', undefined, { labels: { role: 'base' } });
  await f.at('a', (dir) => writeFile(join(dir, 'file'), Buffer.alloc(100_000, 1)));
  await f.sn.commit('base', 'a', { labels: { role: 'base' } });
  await f.sn.prepare('work', 'base');
  await f.sn.view('look', 'base');
});
afterAll(() => f?.cleanup());

const cli = (...args: string[]) => runCli(['snapshots', '--snapshotter', 'naive', ...args], { root: f.root });

describe('dist snapshots', () => {
  test('ls: a KEY PARENT KIND table, filters, JSON', async () => {
    const ls = await cli('ls');
    expect(ls.stderr).toBe('');
    expect(ls.stdout).toBe('KEY   PARENT  KIND\nbase          committed\nlook  base    view\nwork  base    active\n');
    expect((await cli('ls', '--filter', 'kind==active', 'kind==view')).stdout).toBe('KEY   PARENT  KIND\nlook  base    view\nwork  base    active\n');
    const json = JSON.parse((await cli('ls', '--json', '--filter', 'labels.role==base')).stdout);
    expect(json).toEqual([{ name: 'base', kind: 'committed', parent: null, labels: { role: 'base' }, createdAt: expect.any(String), updatedAt: expect.any(String) }]);
    const bad = await cli('ls', '--filter', 'size>1');
    expect(bad.code).toBe(7);
    expect(bad.stderr).toMatch(/^dist: invalid filter "size>1": /);
  });

  test('mounts: the mount command, read-only for a view; committed snapshots have none (exit 6)', async () => {
    const m = await cli('mounts', 'look', '/mnt/x');
    expect(m.stdout).toMatch(/^mount --bind -o ro \/.+\/snapshots\/naive\/snapshots\/\d+\/fs \/mnt\/x\n$/);
    const j = JSON.parse((await cli('mounts', '--json', 'work')).stdout);
    expect(j).toEqual([{ type: 'bind', source: expect.stringMatching(/\/fs$/), options: ['rbind', 'rw'] }]);
    const c = await cli('mounts', 'base');
    expect(c.code).toBe(6);
    expect(c.stderr).toBe('dist: snapshot "base" is committed: it has no mounts (make a view of it)\n');
  });

  test('usage: own layer size and inodes', async () => {
    const u = JSON.parse((await cli('usage', '--json', 'base')).stdout);
    expect(u).toEqual([{ key: 'base', size: expect.any(Number), inodes: 2 }]);
    expect(u[0].size).toBeGreaterThanOrEqual(100_000);
    expect((await cli('usage')).stdout.split('\n')[0]).toMatch(/^KEY +SIZE +INODES$/);
  });

  test('rm: refused while children exist (exit 6), unknown keys exit 3, then removes bottom-up', async () => {
    const busy = await cli('rm', 'base');
    expect(busy.code).toBe(6);
    expect(busy.stderr).toBe('dist: cannot remove "base": 2 snapshot(s) depend on it ("look", "work")\n');
    const missing = await cli('rm', 'nope');
    expect(missing.code).toBe(3);
    expect(missing.stderr).toBe('dist: snapshot "nope" not found (naive)\n');
    const ok = await cli('rm', 'look', 'work', 'base');
    expect([ok.code, ok.stderr]).toEqual([0, '']);
    expect((await cli('ls')).stdout).toBe('KEY  PARENT  KIND\n');
  });
});

describe('dist bundle refusals', () => {
  test('an image that is not in the store exits 3', async () => {
    const dir = join(f.root, 'bundle');
    const r = await runCli(['bundle', '--snapshotter', 'naive', 'sha256:' + 'a'.repeat(64), dir], { root: f.root });
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(`dist: manifest sha256:${'a'.repeat(64)} is not in the store (pull the image first)\n`);
    const img = await runCli(['bundle', 'nope:1', join(f.root, 'other')], { root: f.root });
    expect(img.code).toBe(3);
    expect(img.stderr).toBe('dist: image "nope:1" not found (see dist images)\n');
  });
});
