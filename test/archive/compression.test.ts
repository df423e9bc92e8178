/**
 * One layer as tar, gzip and zstd gives one tree and one diffID (the sha256 of the tar);
 * a wrong expected diffID or corrupt compressed data is DataLoss; unsupported compressions
 * are named. Also through the CLI: `dist apply DIR < layer`.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { snapshotTree } from '../helpers/tree.js';
import { apply, gzip, scratch, sha256, tarOf, zstd } from './helpers/layer.js';

let s: Awaited<ReturnType<typeof scratch>>;
let tar: Buffer;
beforeEach(async () => {
  s = await scratch('compress');
  const big = Buffer.alloc(3 << 20);
  for (let i = 0; i < big.length; i += 4) big.writeUInt32LE((i * 2654435761) >>> 0, i);
  tar = await tarOf([
    { name: 'etc/', type: 'directory' },
    { name: 'etc/motd', data: 'hello\n' },
    { name: 'big.bin', data: big },
    { name: 'etc/link', type: 'symlink', linkname: 'motd' },
    { name: 'etc/hard', type: 'link', linkname: 'etc/motd' },
  ]);
});
afterEach(() => s.cleanup());

describe('compression and diffID', () => {
  test('tar, gzip and zstd layers apply to the same tree with the same diffID', async () => {
    const trees = [];
    for (const [name, bytes] of [['none', tar], ['gzip', gzip(tar)], ['zstd', zstd(tar)]] as const) {
      const dir = join(s.dir, name);
      const r = await apply(dir, bytes, { expectedDiffId: sha256(tar) }, 65536);
      expect(r).toMatchObject({ diffId: sha256(tar), size: tar.length, compression: name, entries: 5 });
      trees.push(await snapshotTree(dir));
    }
    expect(trees[1]).toEqual(trees[0]);
    expect(trees[2]).toEqual(trees[0]);
    expect(Object.keys(trees[0]!)).toContain('big.bin');
  });

  test('diffID covers every uncompressed byte, including padding after the end-of-archive blocks', async () => {
    const padded = Buffer.concat([tar, Buffer.alloc(10240)]);
    const r = await apply(join(s.dir, 'p'), gzip(padded));
    expect(r.diffId).toBe(sha256(padded));
    expect(r.diffId).not.toBe(sha256(tar));
  });

  test('a diffID mismatch is DataLoss naming both digests', async () => {
    const wrong = sha256(Buffer.from('another layer'));
    const err = await apply(join(s.dir, 'm'), zstd(tar), { expectedDiffId: wrong }).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'DataLoss', code: 'ERR_DIFF_ID_MISMATCH', details: { expected: wrong, actual: sha256(tar) } });
  });

  test('corrupt gzip or zstd data is DataLoss; bzip2 and xz are named as unsupported', async () => {
    const flip = (b: Buffer) => {
      const bad = Buffer.from(b);
      bad[Math.floor(bad.length / 2)] ^= 0xff;
      return bad;
    };
    // gzip's CRC32 catches it while inflating.
    await expect(apply(join(s.dir, 'g'), flip(gzip(tar)))).rejects.toMatchObject({ kind: 'DataLoss', code: 'ERR_CORRUPT_LAYER' });
    // fzstd does not check zstd's optional frame checksum: a flipped literal byte inflates
    // "fine", and the diffID check (always made by unpack) is what catches it.
    await expect(apply(join(s.dir, 'z'), flip(zstd(tar)), { expectedDiffId: sha256(tar) })).rejects.toMatchObject({ kind: 'DataLoss' });
    const truncated = gzip(tar).subarray(0, 5000);
    await expect(apply(join(s.dir, 't'), truncated)).rejects.toMatchObject({ kind: 'DataLoss', code: 'ERR_CORRUPT_LAYER' });
    await expect(apply(join(s.dir, 'b'), Buffer.concat([Buffer.from('BZh91AY&SY'), Buffer.alloc(100)]))).rejects.toMatchObject({
      kind: 'InvalidArgument',
      code: 'ERR_UNSUPPORTED_COMPRESSION',
    });
  });

  test('an apply aborted while a file is being written rejects with the abort reason (Canceled)', async () => {
    const { applyLayer } = await import('../../src/archive/apply.js');
    const { canceled } = await import('../../src/errors.js');
    const { mkdir } = await import('node:fs/promises');
    const dir = join(s.dir, 'abort');
    await mkdir(dir);
    const controller = new AbortController();
    // The big file's data arrives slowly; abort once it has started.
    async function* slow() {
      for (let i = 0; i < tar.length; i += 65536) {
        if (i === 65536 * 8) controller.abort(canceled('ERR_INTERRUPTED', 'interrupted by test'));
        yield tar.subarray(i, i + 65536);
        await new Promise((r) => setTimeout(r, 2));
      }
    }
    await expect(applyLayer(dir, slow(), { signal: controller.signal })).rejects.toMatchObject({ kind: 'Canceled', code: 'ERR_INTERRUPTED' });
  });

  test('dist apply: stdin to DIR, prints the diffID; --expected-diff-id mismatch exits 9; a hostile layer exits 7', async () => {
    const dir = join(s.dir, 'cli');
    const ok = await runCli(['apply', dir], { input: zstd(tar) });
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe(`${sha256(tar)}\n`);
    expect(await readFile(join(dir, 'etc', 'motd'), 'utf8')).toBe('hello\n');
    const json = await runCli(['apply', '--json', join(s.dir, 'cli2')], { input: gzip(tar) });
    expect(JSON.parse(json.stdout)).toMatchObject({ diffId: sha256(tar), compression: 'gzip', entries: 5, warnings: [] });
    const bad = await runCli(['apply', '--expected-diff-id', sha256(Buffer.from('x')), join(s.dir, 'cli3')], { input: tar });
    expect(bad.code).toBe(9);
    expect(bad.stderr).toMatch(/^dist: layer diffID mismatch: expected sha256:[0-9a-f]{64}, got sha256:[0-9a-f]{64}\n$/);
    const hostile = await runCli(['apply', join(s.dir, 'cli4')], { input: await tarOf([{ name: '../x', data: 'x' }]) });
    expect(hostile.code).toBe(7);
    expect(hostile.stderr).toBe('dist: refusing layer entry "../x": name climbs out with ".."\n');
    expect((await runCli(['apply', '--help'])).stdout).toContain('--expected-diff-id');
  });
});
