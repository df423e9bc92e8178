/**
 * Hostile layers are refused with ERR_UNSAFE_ARCHIVE (InvalidArgument) and write nothing
 * outside the target directory: `..` names, absolute names, writes through a symlink the
 * layer itself planted (absolute or relative), hard links to outside or through a planted
 * symlink, whiteouts naming `..`. The sentinel tree beside the target must stay identical.
 */
import { mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { snapshotTree } from '../helpers/tree.js';
import { apply, scratch, tarOf, type Entry } from './helpers/layer.js';

let s: Awaited<ReturnType<typeof scratch>>;
let root: string;
let outside: string;
beforeEach(async () => {
  s = await scratch('hostile');
  root = join(s.dir, 'root');
  outside = join(s.dir, 'outside');
  await mkdir(root);
  await mkdir(outside);
  await writeFile(join(outside, 'passwd'), 'precious');
});
afterEach(() => s.cleanup());

async function refused(entries: Entry[], mention: string): Promise<void> {
  const before = await snapshotTree(outside);
  const siblings = (await readdir(s.dir)).sort();
  const err = await apply(root, await tarOf(entries)).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'the layer was applied').toBeDefined();
  expect(err).toMatchObject({ kind: 'InvalidArgument', code: 'ERR_UNSAFE_ARCHIVE' });
  expect((err as Error).message).toContain(mention);
  expect(await snapshotTree(outside)).toEqual(before);
  expect((await readdir(s.dir)).sort()).toEqual(siblings);
}

describe('hostile layers', () => {
  test('"../" names', async () => {
    await refused([{ name: '../outside/passwd', data: 'pwned' }], '".."');
    await refused([{ name: 'a/../../outside/passwd', data: 'pwned' }], '".."');
    await refused([{ name: 'dir/../../x', type: 'directory' }], '".."');
  });

  test('absolute names', async () => {
    await refused([{ name: `${outside}/passwd`, data: 'pwned' }], 'absolute');
    await refused([{ name: '/etc/evil', type: 'symlink', linkname: '/' }], 'absolute');
  });

  test('writing through a symlink the layer planted (absolute target)', async () => {
    await refused([
      { name: 'evil', type: 'symlink', linkname: outside },
      { name: 'evil/passwd', data: 'pwned' },
    ], 'planted by this layer');
  });

  test('writing through a symlink the layer planted (relative target climbing out), also for directories', async () => {
    await refused([
      { name: 'a/', type: 'directory' },
      { name: 'a/up', type: 'symlink', linkname: '../../outside' },
      { name: 'a/up/new-dir/', type: 'directory' },
    ], 'planted by this layer');
  });

  test('hard links to outside, by name or through a planted symlink', async () => {
    await refused([{ name: 'h', type: 'link', linkname: '../outside/passwd' }], '".."');
    await refused([{ name: 'h', type: 'link', linkname: `${outside}/passwd` }], 'absolute');
    await refused([
      { name: 'evil', type: 'symlink', linkname: outside },
      { name: 'h', type: 'link', linkname: 'evil/passwd' },
    ], 'planted by this layer');
  });

  test('regression: directory attributes set at the end never follow a symlink that replaced a directory', async () => {
    await mkdir(join(outside, 'b'), { mode: 0o755 });
    const before = await snapshotTree(outside);
    // a/ and a/b/ get their mode at the end; meanwhile a becomes a symlink to outside.
    await apply(root, await tarOf([
      { name: 'a/', type: 'directory', mode: 0o700 },
      { name: 'a/b/', type: 'directory', mode: 0o777, mtime: new Date('1999-01-01T00:00:00Z') },
      { name: 'a', type: 'symlink', linkname: outside },
    ]));
    expect(await snapshotTree(outside)).toEqual(before);
  });

  test('a whiteout naming ".."', async () => {
    await mkdir(join(root, 'sub'));
    await refused([{ name: 'sub/.wh...' }], 'whiteout');
  });

  test('a symlink from a lower layer pointing out of the root is followed inside the root instead', async () => {
    await symlink(outside, join(root, 'lower-link'));
    await apply(root, await tarOf([{ name: 'lower-link/passwd', data: 'inside' }]));
    expect(await snapshotTree(outside)).toEqual({ passwd: expect.stringMatching(/^file 644 8 /) });
    expect(await readdir(join(root, outside.slice(1)))).toEqual(['passwd']);
  });
});
