/**
 * One rule for bad command lines (issue 9): every malformed option value — number, range,
 * duration, choice, digest, algorithm — is a usage error (exit 2) naming the option, found
 * before any work; malformed operands (digests and refs) are InvalidArgument (exit 7).
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../src/errors.js';
import { digestOf } from './helpers/bytes.js';
import { runCli } from './helpers/cli.js';
import { cleanupAll, makeTempDir } from './helpers/tmp.js';

afterAll(cleanupAll);

let root: string;
beforeAll(async () => {
  const tmp = await makeTempDir('ck-opts-');
  root = join(tmp.dir, 'store');
  const r = await runCli(['ingest', '--expected-digest', digestOf('f')], { root, input: 'f' });
  expect(r.code, r.stderr).toBe(0);
});

const D = digestOf('f');

describe('option errors are usage errors (exit 2)', () => {
  const cases: Array<[string[], string]> = [
    [['cat', D, '--offset', 'abc'], '--offset'],
    [['cat', D, '--length', '-1'], '--length'],
    [['ingest', '--expected-size', '1.5', 'r'], '--expected-size'],
    [['ingest', '--wait=soon', 'r'], '--wait'],
    [['ingest', '--hash', 'md5', 'r'], '--hash'],
    [['ingest', '--expected-digest', 'md5:abc', 'r'], '--expected-digest'],
    [['add', '--hash', 'md5', 'x'], '--hash'],
    [['add', '--hash', 'auto', 'x'], '--hash'],
    [['add', '-a', 'md5', 'x'], '--algorithm'],
    [['add', '-j', '0', 'x'], '--jobs'],
    [['add', '-j', '-3', 'x'], '--jobs'],
    [['verify', '-j', '0'], '--jobs'],
    [['verify', '--hash', 'md5'], '--hash'],
    [['pull', '-j', '0', 'x'], '--concurrency'],
    [['pull', '--hash', 'md5', 'x'], '--hash'],
    [['active', '--interval', '5q'], '--interval'],
    [['active', '--watch', '--interval', '0s'], '--interval'],
    [['prune', '--older-than', 'yesterday'], '--older-than'],
    [['list', '--algorithm', 'md5'], '--algorithm'],
    [['list', '--bogus'], '--bogus'],
  ];
  for (const [args, option] of cases) {
    it(`dist ${args.join(' ')}`, async () => {
      const r = await runCli(args, { root, input: '' });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/^dist: [^\n]+ \(see --help\)\n$/);
      expect(r.stderr).toContain(option);
      expect(r.stdout).toBe('');
    });
  }

  it('a usage error does no work: nothing is written', async () => {
    expect((await runCli(['ingest', '--hash', 'md5', 'new-ref'], { root, input: 'data' })).code).toBe(2);
    expect(await readdir(join(root, 'ingest'))).toEqual([]);
  });
});

describe('malformed operands are InvalidArgument (exit 7)', () => {
  it('a bare hex digest says the algorithm prefix is missing, and quotes it whole', async () => {
    const hex = D.slice(7);
    for (const args of [['info', hex], ['cat', hex], ['verify', hex], ['delete', hex]]) {
      const r = await runCli(args, { root });
      expect(r.code, r.stderr).toBe(EXIT_CODES.InvalidArgument);
      expect(r.stderr).toBe(`dist: invalid digest "${hex}": missing algorithm prefix (sha256:…)\n`);
    }
    const r = await runCli(['info', '../../etc/passwd'], { root });
    expect(r.stderr).toBe('dist: invalid digest "../../etc/passwd": missing algorithm prefix (sha256:…)\n');
    const alg = await runCli(['info', `md5:${hex}`], { root });
    expect(alg.stderr).toBe(`dist: invalid digest "md5:${hex}": unsupported algorithm "md5"\n`);
  });

  it('ingest with an empty REF names the empty REF, even with --expected-digest', async () => {
    for (const args of [['ingest', ''], ['ingest', '--expected-digest', D, '']]) {
      const r = await runCli(args, { root, input: 'f' });
      expect(r.code, r.stderr).toBe(EXIT_CODES.InvalidArgument);
      expect(r.stderr).toBe('dist: REF must not be empty (omit it to use --expected-digest as the ref)\n');
    }
  });
});
