/**
 * What makes a `dist` process start fast (issue 15), and that none of it changes what the
 * CLI does: commands are loaded on demand (the registry must name exactly what each module
 * registers), the built bin runs one bundle with V8's code cache and still works without
 * it, and help is the same whichever way the program was assembled.
 */
import { copyFile, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { commandFor, commands } from '../src/cli/commands/index.js';
import { digestOf } from './helpers/bytes.js';
import { runCli } from './helpers/cli.js';
import { REPO_ROOT } from './helpers/paths.js';
import { cleanupAll, makeTempDir } from './helpers/tmp.js';

afterAll(cleanupAll);

const CLI_DIR = join(REPO_ROOT, 'dist', 'src', 'cli');

describe('the command registry (commands load on demand)', () => {
  it('names every command exactly as its module registers it, aliases included, in help order', async () => {
    const program = new Command('dist');
    for (const c of commands) (await c.load()).register(program);
    expect(program.commands.map((c) => [c.name(), ...c.aliases()])).toEqual(commands.map((c) => [...c.names]));
  });

  it('finds the command past --root, and defers to the whole program otherwise', () => {
    const name = (argv: string[]) => commandFor(argv)?.names[0];
    expect(name(['ingest', 'ref'])).toBe('ingest');
    expect(name(['--root', 'list', 'ls'])).toBe('list'); // --root's value is not the command
    expect(name(['--root=/s', 'rm', 'sha256:x'])).toBe('delete');
    expect(name(['ls', '--root', 'x'])).toBe('list');
    for (const argv of [[], ['help', 'ingest'], ['-h'], ['--version'], ['nosuch'], ['--bogus', 'list'], ['--root']]) expect(name(argv)).toBeUndefined();
  });

  it('`dist CMD --help` (one command loaded) prints what `dist help CMD` (all loaded) prints', async () => {
    for (const c of ['ingest', 'list', 'snapshots', 'pull']) {
      const lazy = await runCli([c, '--help']);
      const full = await runCli(['help', c]);
      expect(lazy.code, lazy.stderr).toBe(0);
      expect(full.code, full.stderr).toBe(0);
      expect(lazy.stdout).toBe(full.stdout);
      expect(lazy.stdout).toContain(`Usage: dist ${c}`);
    }
  });

  it('an unknown command still gets commander\'s suggestion and exit 2', async () => {
    const r = await runCli(['lst']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("dist: unknown command 'lst' (Did you mean one of list, ls?) (see --help)\n");
  });
});

describe('the built bin (dist/src/cli/main.js runs the bundle with a code cache)', () => {
  const debug = { CONTAINERKIT_DEBUG_CODE_CACHE: '1' };

  it('uses the code cache the build made', async () => {
    const tmp = await makeTempDir('ck-startup-');
    const r = await runCli(['ingest', '--expected-digest', digestOf('cached')], { root: join(tmp.dir, 's'), input: 'cached', env: debug });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('code cache: used\n');
    expect(r.stdout).toBe(`${digestOf('cached')}\n`);
  });

  /** A copy of the bin, bundle and cache (the cache as `cache` says), run from `dir`. */
  async function copyBin(dir: string, cache: (real: Buffer) => Buffer | undefined): Promise<string> {
    const bin = join(dir, 'dist', 'src', 'cli');
    await mkdir(bin, { recursive: true });
    // The packages left outside the bundle (piscina, hash-wasm's package.json) are found here.
    await symlink(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'));
    for (const f of ['main.js', 'cli.cjs']) await copyFile(join(CLI_DIR, f), join(bin, f));
    const c = cache(await readFile(join(CLI_DIR, 'cli.cjs.cache')));
    if (c) await writeFile(join(bin, 'cli.cjs.cache'), c);
    return join(bin, 'main.js');
  }

  it.each([
    ['missing', () => undefined, 'none'],
    ['made for another build of the bundle', (real: Buffer) => Buffer.concat([Buffer.from('ck-build:0000000000000000\n'), real.subarray(real.indexOf(10) + 1)]), 'none'],
    ['corrupt (V8 refuses it)', (real: Buffer) => Buffer.concat([real.subarray(0, real.indexOf(10) + 1), Buffer.alloc(4096, 7)]), 'rejected'],
  ])('works the same with a cache that is %s', async (_what, cache, verdict) => {
    const tmp = await makeTempDir('ck-startup-');
    const main = await copyBin(tmp.dir, cache);
    const { spawnSync } = await import('node:child_process');
    const root = join(tmp.dir, 's');
    const r = spawnSync(process.execPath, [main, '--root', root, 'ingest', '--expected-digest', digestOf('no cache')], {
      input: 'no cache',
      encoding: 'utf8',
      env: { ...process.env, ...debug, DIST_JOBS: '1' },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe(`code cache: ${verdict}\n`);
    expect(r.stdout).toBe(`${digestOf('no cache')}\n`);
    const list = spawnSync(process.execPath, [main, '--root', root, 'list', '-q'], { encoding: 'utf8' });
    expect(list.stdout).toBe(`${digestOf('no cache')}\n`);
  });
});
