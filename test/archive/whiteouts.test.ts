/**
 * OCI whiteouts across layers: `.wh.NAME` removes NAME (file, symlink or whole directory) of
 * lower layers; `.wh..wh..opq` empties a directory of lower content but keeps what the same
 * layer puts there, whatever the entry order; a layer deleting then re-creating a file.
 */
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { apply, scratch, tarOf } from './helpers/layer.js';

let s: Awaited<ReturnType<typeof scratch>>;
beforeEach(async () => {
  s = await scratch('wh');
  await apply(s.dir, await tarOf([
    { name: 'etc/', type: 'directory' },
    { name: 'etc/hosts', data: 'lower hosts' },
    { name: 'etc/conf.d/', type: 'directory' },
    { name: 'etc/conf.d/a', data: 'a' },
    { name: 'etc/conf.d/b', data: 'b' },
    { name: 'etc/conf.d/sub/', type: 'directory' },
    { name: 'etc/conf.d/sub/deep', data: 'deep' },
    { name: 'bin/', type: 'directory' },
    { name: 'bin/tool', data: 'tool', mode: 0o755 },
    { name: 'bin/alias', type: 'symlink', linkname: 'tool' },
    { name: 'var/', type: 'directory' },
    { name: 'var/cache/', type: 'directory' },
    { name: 'var/cache/x', data: 'x' },
  ]));
});
afterEach(() => s.cleanup());

const ls = async (p: string) => (await readdir(join(s.dir, p))).sort();
const gone = async (p: string) => expect(lstat(join(s.dir, p))).rejects.toMatchObject({ code: 'ENOENT' });

describe('whiteouts', () => {
  test('.wh.NAME removes a file, a symlink and a whole directory of the lower layer; the marker is not created', async () => {
    const r = await apply(s.dir, await tarOf([
      { name: 'etc/.wh.hosts' },
      { name: 'bin/.wh.alias' },
      { name: 'var/.wh.cache' },
    ]));
    await gone('etc/hosts');
    await gone('bin/alias');
    await gone('var/cache');
    expect(await ls('bin')).toEqual(['tool']);
    expect(await ls('var')).toEqual([]);
    expect(await ls('etc')).toEqual(['conf.d']);
    expect(r.entries).toBe(3);
  });

  test('a whiteout of something absent is a no-op', async () => {
    await apply(s.dir, await tarOf([{ name: 'etc/.wh.nothing-here' }, { name: 'nowhere/.wh.x' }]));
    expect(await ls('etc')).toEqual(['conf.d', 'hosts']);
    expect(await ls('nowhere')).toEqual([]);
  });

  test('opaque directory: lower content goes, this layer\'s content stays — marker first', async () => {
    await apply(s.dir, await tarOf([
      { name: 'etc/conf.d/', type: 'directory' },
      { name: 'etc/conf.d/.wh..wh..opq' },
      { name: 'etc/conf.d/b', data: 'new b' },
      { name: 'etc/conf.d/c', data: 'c' },
    ]));
    expect(await ls('etc/conf.d')).toEqual(['b', 'c']);
    expect(await readFile(join(s.dir, 'etc/conf.d/b'), 'utf8')).toBe('new b');
    expect(await ls('etc')).toEqual(['conf.d', 'hosts']);
  });

  test('opaque directory: the same when the marker comes after the layer\'s own entries', async () => {
    await apply(s.dir, await tarOf([
      { name: 'etc/conf.d/c', data: 'c' },
      { name: 'etc/conf.d/sub/new', data: 'n' },
      { name: 'etc/conf.d/.wh..wh..opq' },
    ]));
    // `sub` was re-created implicitly by this layer (for sub/new): it stays, as created here.
    expect(await ls('etc/conf.d')).toEqual(['c', 'sub']);
    expect(await ls('etc/conf.d/sub')).toEqual(['new']);
  });

  test('opaque directory: a lower subdirectory the layer lists explicitly keeps only the layer\'s content', async () => {
    await apply(s.dir, await tarOf([
      { name: 'etc/conf.d/sub/', type: 'directory', mode: 0o750 },
      { name: 'etc/conf.d/.wh..wh..opq' },
    ]));
    expect(await ls('etc/conf.d')).toEqual(['sub']);
    expect(await ls('etc/conf.d/sub')).toEqual([]);
    expect((await lstat(join(s.dir, 'etc/conf.d/sub'))).mode & 0o777).toBe(0o750);
  });

  test('a whiteout does not remove what the same layer adds (spec: whiteouts apply to lower layers)', async () => {
    await apply(s.dir, await tarOf([
      { name: 'etc/fresh', data: 'fresh' },
      { name: 'etc/.wh.fresh' },
    ]));
    expect(await readFile(join(s.dir, 'etc/fresh'), 'utf8')).toBe('fresh');
  });

  test('a layer that deletes a file and re-creates it as another type', async () => {
    await apply(s.dir, await tarOf([
      { name: 'etc/.wh.hosts' },
      { name: 'etc/hosts', type: 'symlink', linkname: '/run/hosts' },
      { name: 'bin/.wh.tool' },
      { name: 'bin/tool/', type: 'directory' },
      { name: 'bin/tool/inside', data: 'i' },
    ]));
    expect(await readlink(join(s.dir, 'etc/hosts'))).toBe('/run/hosts');
    expect((await lstat(join(s.dir, 'bin/tool'))).isDirectory()).toBe(true);
    expect(await ls('bin/tool')).toEqual(['inside']);
    // The lower symlink to `tool` dangles now, but it is untouched.
    expect(await readlink(join(s.dir, 'bin/alias'))).toBe('tool');
  });

  test('AUFS metadata (.wh..wh.plnk) is ignored', async () => {
    await apply(s.dir, await tarOf([{ name: '.wh..wh.plnk/', type: 'directory' }, { name: '.wh..wh.plnk/123.456' }]));
    expect((await ls('')).filter((n) => n.startsWith('.wh'))).toEqual([]);
  });
});
