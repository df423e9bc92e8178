/**
 * Entry types and attributes: hard links within and across layers, symlink chains from a
 * lower layer (followed inside the root), modes (setuid, sticky, read-only dirs), mtimes,
 * owners and device nodes as root, and what an unprivileged apply does with them.
 */
import { lstat, readFile, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { apply, scratch, tarOf } from './helpers/layer.js';

let s: Awaited<ReturnType<typeof scratch>>;
beforeEach(async () => {
  s = await scratch('entries');
});
afterEach(() => s.cleanup());
const at = (p: string) => join(s.dir, p);
const isRoot = process.getuid?.() === 0;

describe('links', () => {
  test('hard links within a layer share one inode; a later layer links to a lower file', async () => {
    await apply(s.dir, await tarOf([
      { name: 'bin/busybox', data: 'bb', mode: 0o755 },
      { name: 'bin/sh', type: 'link', linkname: 'bin/busybox' },
      { name: './bin/ls', type: 'link', linkname: './bin/busybox' },
    ]));
    const ino = (await lstat(at('bin/busybox'))).ino;
    expect((await lstat(at('bin/sh'))).ino).toBe(ino);
    expect((await lstat(at('bin/ls'))).ino).toBe(ino);
    expect((await lstat(at('bin/ls'))).nlink).toBe(3);
    await apply(s.dir, await tarOf([{ name: 'usr/bin/cat', type: 'link', linkname: 'bin/busybox' }]));
    expect((await lstat(at('usr/bin/cat'))).ino).toBe(ino);
    expect(await readFile(at('usr/bin/cat'), 'utf8')).toBe('bb');
  });

  test('a hard link to a missing file is a corrupt layer (DataLoss)', async () => {
    await expect(apply(s.dir, await tarOf([{ name: 'x', type: 'link', linkname: 'nothing' }]))).rejects.toMatchObject({ kind: 'DataLoss', code: 'ERR_BAD_ARCHIVE' });
  });

  test('symlinks keep their targets verbatim (absolute, relative, dangling); a lower layer\'s symlink chain is followed inside the root', async () => {
    await apply(s.dir, await tarOf([
      { name: 'usr/lib/', type: 'directory' },
      { name: 'lib', type: 'symlink', linkname: 'usr/lib' },
      { name: 'lib64', type: 'symlink', linkname: '/lib' },
      { name: 'etc/dangling', type: 'symlink', linkname: '../nowhere/at/all' },
    ]));
    expect(await readlink(at('lib64'))).toBe('/lib');
    expect(await readlink(at('etc/dangling'))).toBe('../nowhere/at/all');
    // Next layer writes through lib64 → /lib → usr/lib: resolved inside the root, never the host's /lib.
    await apply(s.dir, await tarOf([{ name: 'lib64/ld.so', data: 'loader' }]));
    expect(await readFile(at('usr/lib/ld.so'), 'utf8')).toBe('loader');
    expect((await lstat(at('lib64'))).isSymbolicLink()).toBe(true);
  });

  test('a later entry in the same layer wins: a file over a directory of fresh files, a file over a file, a hard link to a just-written file', async () => {
    const files = Array.from({ length: 40 }, (_, i) => ({ name: `d/f${i}`, data: Buffer.alloc(64 << 10, i) }));
    await apply(s.dir, await tarOf([
      ...files,
      { name: 'd', data: 'd is a file now' },
      { name: 'x', data: 'first' },
      { name: 'x', data: 'second' },
      { name: 'y', data: 'target' },
      { name: 'z', type: 'link', linkname: 'y' },
    ]));
    expect(await readFile(at('d'), 'utf8')).toBe('d is a file now');
    expect(await readFile(at('x'), 'utf8')).toBe('second');
    expect((await lstat(at('z'))).ino).toBe((await lstat(at('y'))).ino);
  });

  test('an entry replaces whatever the lower layer had at its name, of any type', async () => {
    await apply(s.dir, await tarOf([
      { name: 'a/', type: 'directory' },
      { name: 'a/inside', data: 'x' },
      { name: 'b', data: 'file' },
      { name: 'c', type: 'symlink', linkname: 'b' },
    ]));
    await apply(s.dir, await tarOf([
      { name: 'a', data: 'now a file' },
      { name: 'b/', type: 'directory' },
      { name: 'c', data: 'not following the old link' },
    ]));
    expect(await readFile(at('a'), 'utf8')).toBe('now a file');
    expect((await lstat(at('b'))).isDirectory()).toBe(true);
    expect(await readFile(at('c'), 'utf8')).toBe('not following the old link');
  });
});

describe('attributes', () => {
  test('modes including setuid, setgid and sticky; read-only directories still get their children', async () => {
    await apply(s.dir, await tarOf([
      { name: 'ro/', type: 'directory', mode: 0o555 },
      { name: 'ro/file', data: 'x', mode: 0o400 },
      { name: 'tmp/', type: 'directory', mode: 0o1777 },
      { name: 'bin/su', data: 'su', mode: 0o4755 },
      { name: 'bin/wall', data: 'w', mode: 0o2755 },
    ]), { privileged: false });
    const mode = async (p: string) => (await lstat(at(p))).mode & 0o7777;
    expect(await mode('ro')).toBe(0o555);
    expect(await mode('ro/file')).toBe(0o400);
    expect(await mode('tmp')).toBe(0o1777);
    expect(await mode('bin/su')).toBe(0o4755);
    expect(await mode('bin/wall')).toBe(0o2755);
  });

  test('mtimes of files, symlinks and directories (set after their children)', async () => {
    const t = (s: string) => new Date(s);
    await apply(s.dir, await tarOf([
      { name: 'd/', type: 'directory', mtime: t('2001-01-01T00:00:00Z') },
      { name: 'd/f', data: 'f', mtime: t('2002-02-02T00:00:00Z') },
      { name: 'd/l', type: 'symlink', linkname: 'f', mtime: t('2003-03-03T00:00:00Z') },
    ]));
    expect((await lstat(at('d'))).mtime.toISOString()).toBe('2001-01-01T00:00:00.000Z');
    expect((await lstat(at('d/f'))).mtime.toISOString()).toBe('2002-02-02T00:00:00.000Z');
    expect((await lstat(at('d/l'))).mtime.toISOString()).toBe('2003-03-03T00:00:00.000Z');
  });

  test.runIf(isRoot)('as root: owners (chown before chmod keeps setuid) and device nodes', async () => {
    const r = await apply(s.dir, await tarOf([
      { name: 'home/u/', type: 'directory', uid: 1000, gid: 1001 },
      { name: 'home/u/f', data: 'x', uid: 1000, gid: 1001, mode: 0o4750 },
      { name: 'home/u/l', type: 'symlink', linkname: 'f', uid: 1002, gid: 1003 },
      { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
      { name: 'dev/loop0', type: 'block-device', devmajor: 7, devminor: 0, mode: 0o660, gid: 6 },
      { name: 'run/fifo', type: 'fifo', mode: 0o600 },
    ]));
    expect(r.warnings).toEqual([]);
    const f = await lstat(at('home/u/f'));
    expect([f.uid, f.gid, f.mode & 0o7777]).toEqual([1000, 1001, 0o4750]);
    const d = await lstat(at('home/u'));
    expect([d.uid, d.gid]).toEqual([1000, 1001]);
    const l = await lstat(at('home/u/l'));
    expect([l.uid, l.gid]).toEqual([1002, 1003]);
    const dev = await lstat(at('dev/null'));
    expect(dev.isCharacterDevice()).toBe(true);
    expect([dev.rdev >> 8, dev.rdev & 0xff, dev.mode & 0o777]).toEqual([1, 3, 0o666]);
    const blk = await lstat(at('dev/loop0'));
    expect(blk.isBlockDevice()).toBe(true);
    expect([blk.rdev >> 8, blk.rdev & 0xff, blk.gid]).toEqual([7, 0, 6]);
    expect((await stat(at('run/fifo'))).isFIFO()).toBe(true);
  });

  test('unprivileged: owners are not applied, device nodes are skipped with one warning, fifos are made', async () => {
    const warnings: string[] = [];
    const r = await apply(s.dir, await tarOf([
      { name: 'f', data: 'x', uid: 1000, gid: 1000 },
      { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3 },
      { name: 'dev/zero', type: 'character-device', devmajor: 1, devminor: 5 },
      { name: 'p', type: 'fifo' },
    ]), { privileged: false, onWarning: (w) => warnings.push(w) });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/device nodes are skipped .*"dev\/null"/);
    expect(r.warnings).toEqual(warnings);
    await expect(lstat(at('dev/null'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await lstat(at('f'))).uid).toBe(process.getuid?.());
    expect((await lstat(at('p'))).isFIFO()).toBe(true);
  });
});
