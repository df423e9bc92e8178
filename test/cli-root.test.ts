/**
 * Which store a command uses, and when it may create it (issue 9): --root, else $DIST_ROOT
 * (empty = unset), else ./.content; only writing commands create a missing root; a root
 * that is a file is a clear precondition error. Also `dist --version`.
 */
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../src/errors.js';
import { digestOf } from './helpers/bytes.js';
import { runCli, type RunResult } from './helpers/cli.js';
import { REPO_ROOT } from './helpers/paths.js';
import { cleanupAll, makeTempDir } from './helpers/tmp.js';

afterAll(cleanupAll);

function expectErrorLine(r: RunResult, code: number, ...mentions: string[]): void {
  expect(r.code, r.stderr).toBe(code);
  expect(r.stderr).toMatch(/^dist: [^\n]+\n$/);
  for (const m of mentions) expect(r.stderr).toContain(m);
}

describe('the store root', () => {
  it('read-only commands on a missing root fail with NotFound (exit 3) naming it, and do not create it', async () => {
    const tmp = await makeTempDir('ck-root-');
    const typo = join(tmp.dir, 'typo');
    const d = digestOf('x');
    for (const args of [['list'], ['list', '-q'], ['active'], ['verify'], ['info', d], ['path', d], ['cat', d], ['delete', d], ['abort', 'r'], ['prune'], ['images']]) {
      const r = await runCli(args, { root: typo });
      expectErrorLine(r, EXIT_CODES.NotFound, `store root ${typo} does not exist`);
      expect(r.stdout).toBe('');
    }
    expect(await readdir(tmp.dir)).toEqual([]);
  });

  it('writing commands create a missing root (and its parents)', async () => {
    const tmp = await makeTempDir('ck-root-');
    const root = join(tmp.dir, 'a', 'b', 'store');
    const r = await runCli(['ingest', '--expected-digest', digestOf('hello')], { root, input: 'hello' });
    expect(r.code, r.stderr).toBe(0);
    await writeFile(join(tmp.dir, 'f'), 'file');
    const add = await runCli(['add', join(tmp.dir, 'f')], { root: join(tmp.dir, 'other') });
    expect(add.code, add.stderr).toBe(0);
    expect((await stat(join(tmp.dir, 'other', 'blobs'))).isDirectory()).toBe(true);
    const listed = await runCli(['list', '-q'], { root });
    expect(listed.stdout).toBe(`${digestOf('hello')}\n`);
  });

  it('--root naming a file (or a path under one) is FailedPrecondition (exit 6): "is not a directory"', async () => {
    const tmp = await makeTempDir('ck-root-');
    const file = join(tmp.dir, 'file');
    await writeFile(file, 'not a store');
    for (const root of [file, join(file, 'below')]) {
      for (const [args, input] of [[['list']], [['ingest', 'r'], 'data'], [['add', file]]] as Array<[string[], string?]>) {
        expectErrorLine(await runCli(args, { root, input }), EXIT_CODES.FailedPrecondition, `store root ${root} is not a directory`);
      }
    }
    expect(await readFile(file, 'utf8')).toBe('not a store');
  });

  it('an empty $DIST_ROOT means unset (./.content); --root "" is a usage error (exit 2)', async () => {
    const tmp = await makeTempDir('ck-root-');
    const r = await runCli(['ingest', 'r'], { cwd: tmp.dir, env: { DIST_ROOT: '' }, input: 'data' });
    expect(r.code, r.stderr).toBe(0);
    expect(await readdir(tmp.dir)).toEqual(['.content']);
    expect(await readdir(join(tmp.dir, '.content', 'blobs', 'sha256'))).toEqual([digestOf('data').slice(7)]);

    const e = await runCli(['ingest', 'r2'], { cwd: tmp.dir, root: '', input: 'data' });
    expectErrorLine(e, 2, '--root must not be empty');
    expect(await readdir(tmp.dir)).toEqual(['.content']);
  });

  it('with no --root and no $DIST_ROOT, ./.content is the store, and reading it before it exists is NotFound', async () => {
    const tmp = await makeTempDir('ck-root-');
    expectErrorLine(await runCli(['list'], { cwd: tmp.dir }), EXIT_CODES.NotFound, 'store root ./.content does not exist');
    expect(await readdir(tmp.dir)).toEqual([]);
  });
});

describe('dist --version', () => {
  it('prints the package version (exit 0); -V too', async () => {
    const { version } = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const r = await runCli([flag]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe(`${version}\n`);
    }
  });
});
