/**
 * Bulk ingest: the library (src/bulk/ingest.ts) and `dist add`, with real files, real worker
 * threads and the compiled CLI as a child process.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { blake3 } from 'hash-wasm';
import { afterAll, describe, expect, it } from 'vitest';
import { ingestFiles, type IngestedFile } from '../src/bulk/ingest.js';
import { ContentError } from '../src/errors.js';
import { HashPool } from '../src/hash/pool.js';
import { digestOf, randomBytes } from './helpers/bytes.js';
import { runCli, spawnCli } from './helpers/cli.js';
import { REPO_ROOT } from './helpers/paths.js';
import { cleanupAll, makeTempDir } from './helpers/tmp.js';

const pool = new HashPool({ threads: 2, idleTimeoutMs: 500 });
afterAll(async () => {
  await pool.close();
  await cleanupAll();
});

/** Lays out files (relative path → content) under dir. */
async function layout(dir: string, files: Record<string, Uint8Array | string>): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, rel)), { recursive: true });
    await writeFile(join(dir, rel), content);
  }
}

/** A tree with duplicates across directories, an empty file twice, and a 3 MiB file. */
function treeWithDuplicates(): Record<string, Uint8Array | string> {
  const a = randomBytes(4096);
  const b = randomBytes(100_000);
  const big = randomBytes(3 * 1024 * 1024);
  return {
    'a.bin': a,
    'x/a-copy.bin': a,
    'x/y/z/a-again.bin': a,
    'b.bin': b,
    'x/b-copy.bin': b,
    'empty-1': '',
    'x/empty-2': '',
    'big.bin': big,
    'x/big-copy.bin': big,
    ...Object.fromEntries(Array.from({ length: 70 }, (_, i) => [`many/f${i}`, randomBytes(1000 + i)])),
  };
}

async function blobNames(root: string, alg = 'sha256'): Promise<string[]> {
  try {
    return (await readdir(join(root, 'blobs', alg))).map((h) => `${alg}:${h}`).sort();
  } catch {
    return [];
  }
}

function checkExistedOncePerDigest(results: Array<Pick<IngestedFile, 'digest' | 'existed'>>): void {
  const fresh = new Map<string, number>();
  for (const r of results) fresh.set(r.digest, (fresh.get(r.digest) ?? 0) + (r.existed ? 0 : 1));
  for (const [digest, n] of fresh) expect(n, `${digest} reported new ${n} times`).toBe(1);
}

describe('ingestFiles (library)', () => {
  it('stores each content once and reports existed for the duplicates', async () => {
    const tmp = await makeTempDir();
    const src = join(tmp.dir, 'src');
    const files = treeWithDuplicates();
    await layout(src, files);
    const root = join(tmp.dir, 'store');
    const results: IngestedFile[] = [];
    for await (const r of ingestFiles({ root }, [src], { recursive: true, pool })) results.push(r);

    expect(results.map((r) => r.path).sort()).toEqual(Object.keys(files).map((f) => join(src, f)).sort());
    for (const r of results) {
      const content = files[r.path.slice(src.length + 1)]!;
      expect(r.digest).toBe(digestOf(content));
      expect(r.size).toBe(typeof content === 'string' ? content.length : content.byteLength);
    }
    const unique = [...new Set(results.map((r) => r.digest))].sort();
    expect(await blobNames(root)).toEqual(unique);
    checkExistedOncePerDigest(results);

    // Committed blobs are read-only and hold exactly their content; no temp file is left.
    for (const d of unique) {
      const p = join(root, 'blobs', 'sha256', d.slice(7));
      expect((await stat(p)).mode & 0o777).toBe(0o444);
      expect(digestOf(await readFile(p))).toBe(d);
    }
    expect(await readdir(join(root, 'ingest'))).toEqual([]);

    // Adding again: everything already present.
    const again: IngestedFile[] = [];
    for await (const r of ingestFiles({ root }, [src], { recursive: true, pool })) again.push(r);
    expect(again.every((r) => r.existed)).toBe(true);
  });

  it('takes an async iterable of paths; a bad path throws ContentError unless onError is given', async () => {
    const tmp = await makeTempDir();
    await layout(tmp.dir, { 'one': 'first', 'two': 'second' });
    const root = join(tmp.dir, 'store');
    async function* paths() {
      yield join(tmp.dir, 'one');
      yield join(tmp.dir, 'missing');
      yield join(tmp.dir, 'two');
    }
    const errors: ContentError[] = [];
    const got: string[] = [];
    for await (const r of ingestFiles({ root }, paths(), { pool, onError: (_p, e) => errors.push(e) })) got.push(r.digest);
    expect(got.sort()).toEqual([digestOf('first'), digestOf('second')].sort());
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(ContentError);
    expect(errors[0]).toMatchObject({ kind: 'NotFound', code: 'ERR_FILE_NOT_FOUND' });

    const thrown = await (async () => {
      try {
        for await (const _ of ingestFiles({ root }, [tmp.dir], { pool })) void _;
      } catch (e) {
        return e;
      }
    })();
    expect(thrown).toBeInstanceOf(ContentError);
    expect(thrown).toMatchObject({ kind: 'InvalidArgument', code: 'ERR_IS_DIRECTORY' });
  });

  it('an unreadable file fails alone, with its kind, from inside the worker', async () => {
    // A path under a regular file fails inside the worker even for root (ENOTDIR).
    const tmp = await makeTempDir();
    await layout(tmp.dir, { ok: 'fine', file: 'x' });
    const root = join(tmp.dir, 'store');
    const errors: ContentError[] = [];
    const got: IngestedFile[] = [];
    for await (const r of ingestFiles({ root }, [join(tmp.dir, 'ok'), join(tmp.dir, 'file', 'child')], { pool, onError: (_p, e) => errors.push(e) })) got.push(r);
    expect(got).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(ContentError);
    expect(errors[0]!.details.errno).toBe('ENOTDIR');
  });
});

describe('dist add', () => {
  it('adds a tree with duplicates: DIGEST  PATH lines, each content stored once, summary on stderr', async () => {
    const tmp = await makeTempDir();
    const src = join(tmp.dir, 'src');
    const files = treeWithDuplicates();
    await layout(src, files);
    const root = join(tmp.dir, 'store');
    const r = await runCli(['add', '-r', src], { root, env: { DIST_JOBS: '2' } });
    // One unit family everywhere (issue 9: the bar said MiB/s, the summary MB/s); no bar on a pipe.
    expect(r.stderr).toMatch(/^added 79 file\(s\), [\d.]+MiB: \d+ new, \d+ already present; [\d.]+s, [\d.]+(B|KiB|MiB|GiB)\/s\n$/);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => l.split('  '));
    expect(lines).toHaveLength(Object.keys(files).length);
    for (const [digest, path] of lines) expect(digest).toBe(digestOf(files[path!.slice(src.length + 1)]!));
    const unique = new Set(lines.map(([d]) => d));
    expect(await blobNames(root)).toEqual([...unique].sort());
    const summary = /: (\d+) new, (\d+) already present/.exec(r.stderr)!;
    expect(Number(summary[1])).toBe(unique.size);
  });

  it('--json prints one JSON object per line (NDJSON): each file, then a summary line; one copy of each content is new', async () => {
    const tmp = await makeTempDir();
    const src = join(tmp.dir, 'src');
    await layout(src, treeWithDuplicates());
    const r = await runCli(['add', '-r', '--json', src], { root: join(tmp.dir, 'store') });
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const files = lines.filter((l) => l.type === 'file') as unknown as IngestedFile[];
    expect(files).toHaveLength(79);
    expect(lines).toHaveLength(80);
    checkExistedOncePerDigest(files);
    const summary = lines.at(-1)!;
    expect(summary).toMatchObject({ type: 'summary', files: 79, existed: 79 - new Set(files.map((f) => f.digest)).size, errors: 0 });
    expect(summary.new).toBe(new Set(files.map((f) => f.digest)).size);
  });

  it('--json streams: a file\'s line is out while later paths are still being read', async () => {
    const tmp = await makeTempDir();
    await layout(tmp.dir, { first: 'first file', second: 'second file' });
    const child = spawnCli(['add', '--json', '-'], { root: join(tmp.dir, 'store') });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    child.stdin.write(`${join(tmp.dir, 'first')}\n`);
    const deadline = Date.now() + 20_000;
    while (!out.includes('\n') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(JSON.parse(out.split('\n')[0]!)).toEqual({ type: 'file', path: join(tmp.dir, 'first'), digest: digestOf('first file'), size: 10, existed: false });
    child.stdin.end(`${join(tmp.dir, 'second')}\n`);
    expect(await exited).toBe(0);
    const lines = out.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.type)).toEqual(['file', 'file', 'summary']);
  });

  it('symlinks inside directories are skipped and counted, not followed (like cp -R and tar); -L follows them', async () => {
    const tmp = await makeTempDir();
    const src = join(tmp.dir, 'src');
    const outside = join(tmp.dir, 'outside');
    await layout(outside, { 'big.bin': randomBytes(50_000), 'dir/inner': 'inner' });
    await layout(src, { 'real': 'real file' });
    await symlink(join(outside, 'big.bin'), join(src, 'link-to-file'));
    await symlink(join(outside, 'dir'), join(src, 'link-to-dir'));
    await symlink(join(tmp.dir, 'nowhere'), join(src, 'dangling'));
    await symlink(src, join(src, 'loop'));
    const root = join(tmp.dir, 'store');

    // Default: only the real file; the 4 links are skipped (a dangling one is no error).
    const r = await runCli(['add', '-r', src], { root });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${digestOf('real file')}  ${join(src, 'real')}\n`);
    expect(r.stderr).toMatch(/^added 1 file\(s\), 9B: 1 new, 0 already present; skipped 4 symlink\(s\) \(-L follows them\); /);

    const j = await runCli(['add', '-r', '--json', src], { root });
    const skipped = j.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.type === 'skipped');
    expect(skipped.map((s) => [s.path, s.reason]).sort()).toEqual(['dangling', 'link-to-dir', 'link-to-file', 'loop'].map((n) => [join(src, n), 'symlink']).sort());

    // -L: links to files and directories are followed; the loop back to src is skipped; the
    // dangling link fails alone (exit 3) while the rest is added.
    const l = await runCli(['add', '-r', '-L', src], { root });
    expect(l.code).toBe(3);
    expect(l.stderr).toContain(`dist: ${join(src, 'dangling')}: symlink to a missing file`);
    expect(l.stderr).toMatch(/added 3 file\(s\), .*; skipped 1 directory loop\(s\); 1 failed; /);
    expect(l.stdout.trimEnd().split('\n').sort()).toEqual(
      [`${digestOf('real file')}  ${join(src, 'real')}`, `${digestOf(await readFile(join(outside, 'big.bin')))}  ${join(src, 'link-to-file')}`, `${digestOf('inner')}  ${join(src, 'link-to-dir', 'inner')}`].sort(),
    );

    // A symlink named on the command line is followed, as cp -H does.
    const named = await runCli(['add', join(src, 'link-to-file')], { root });
    expect(named.code, named.stderr).toBe(0);
    expect(named.stdout).toBe(`${digestOf(await readFile(join(outside, 'big.bin')))}  ${join(src, 'link-to-file')}\n`);
  });

  it('a path with control characters is printed escaped; --json keeps it exact', async () => {
    const tmp = await makeTempDir();
    const name = 'evil\x1b[2J\nname';
    await layout(tmp.dir, { [name]: 'x' });
    const r = await runCli(['add', join(tmp.dir, name)], { root: join(tmp.dir, 'store') });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${digestOf('x')}  "${tmp.dir}/evil\\x1b[2J\\nname"\n`);
    const j = await runCli(['add', '--json', join(tmp.dir, name)], { root: join(tmp.dir, 'store') });
    expect(JSON.parse(j.stdout.split('\n')[0]!).path).toBe(join(tmp.dir, name));
  });

  it('reads paths from stdin with -', async () => {
    const tmp = await makeTempDir();
    await layout(tmp.dir, { 'with space': 'spaced', plain: 'plain' });
    const r = await runCli(['add', '-'], { root: join(tmp.dir, 'store'), input: `${join(tmp.dir, 'with space')}\n${join(tmp.dir, 'plain')}\n` });
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n').sort()).toEqual([`${digestOf('plain')}  ${join(tmp.dir, 'plain')}`, `${digestOf('spaced')}  ${join(tmp.dir, 'with space')}`].sort());
  });

  it('--hash native and --hash wasm give the same digests, for sha256, sha512 and blake3', async () => {
    const tmp = await makeTempDir();
    const src = join(tmp.dir, 'src');
    const files = { small: randomBytes(5000), big: randomBytes(2 * 1024 * 1024 + 3) };
    await layout(src, files);
    for (const alg of ['sha256', 'sha512', 'blake3'] as const) {
      const outs: string[] = [];
      for (const mode of ['native', 'wasm']) {
        const r = await runCli(['add', '-r', '--hash', mode, '-a', alg, src], { root: join(tmp.dir, `store-${alg}-${mode}`) });
        expect(r.code, r.stderr).toBe(0);
        outs.push(r.stdout.split('\n').sort().join('\n'));
      }
      expect(outs[0]).toBe(outs[1]);
      const want = async (d: Uint8Array) => (alg === 'blake3' ? `blake3:${await blake3(d)}` : `${alg}:${createHash(alg).update(d).digest('hex')}`);
      expect(outs[0]).toContain(`${await want(files.small)}  ${join(src, 'small')}`);
      expect(outs[0]).toContain(`${await want(files.big)}  ${join(src, 'big')}`);
      expect(await blobNames(join(tmp.dir, `store-${alg}-wasm`), alg)).toHaveLength(2);
    }
  });

  it('a directory without -r is a usage problem (exit 7); a missing file exits 3 but the rest is added', async () => {
    const tmp = await makeTempDir();
    await layout(tmp.dir, { 'd/f': 'in dir', g: 'g' });
    const root = join(tmp.dir, 'store');
    const dir = await runCli(['add', join(tmp.dir, 'd')], { root });
    expect(dir.code).toBe(7);
    expect(dir.stderr).toMatch(/^dist: .*is a directory \(use -r/m);
    const missing = await runCli(['add', join(tmp.dir, 'nope'), join(tmp.dir, 'g')], { root });
    expect(missing.code).toBe(3);
    expect(missing.stdout).toBe(`${digestOf('g')}  ${join(tmp.dir, 'g')}\n`);
  });

  it('a broken store layout is refused before any file is read, naming the path', async () => {
    const tmp = await makeTempDir();
    await layout(tmp.dir, { f: 'data' });
    const root = join(tmp.dir, 'store');
    await layout(root, { ingest: 'not a directory' });
    const r = await runCli(['add', join(tmp.dir, 'f')], { root });
    expect(r.code).toBe(6);
    expect(r.stderr).toBe(`dist: refusing to use ${join(root, 'ingest')}: it is not a directory (see README: Trust model)\n`);
    expect(await blobNames(root)).toEqual([]);
  });

  it('adding a 512 MiB file keeps peak RSS under 200 MiB', async () => {
    const tmp = await makeTempDir();
    const file = join(tmp.dir, 'big');
    // 512 distinct 1 MiB blocks (a counter stamped into one random block).
    const block = randomBytes(1 << 20);
    const hash = createHash('sha256');
    const { open } = await import('node:fs/promises');
    const fh = await open(file, 'w');
    for (let i = 0; i < 512; i++) {
      block.writeUInt32LE(i, 0);
      hash.update(block);
      await fh.write(block);
    }
    await fh.close();
    const root = join(tmp.dir, 'store');
    const lib = pathToFileURL(join(REPO_ROOT, 'dist/src/bulk/ingest.js')).href;
    const eng = pathToFileURL(join(REPO_ROOT, 'dist/src/hash/engine.js')).href;
    const source = `
      import { ingestFiles } from ${JSON.stringify(lib)};
      import { closeDefaultEngine } from ${JSON.stringify(eng)};
      for await (const r of ingestFiles({ root: ${JSON.stringify(root)} }, [${JSON.stringify(file)}])) console.log(JSON.stringify(r));
      await closeDefaultEngine();
      console.log(JSON.stringify({ maxRSS: process.resourceUsage().maxRSS }));`;
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', source], { stdio: ['ignore', 'pipe', 'inherit'] });
      let text = '';
      child.stdout.on('data', (c: Buffer) => (text += c.toString()));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve(text) : reject(new Error(`child exited ${code}`))));
    });
    const [result, usage] = out.trim().split('\n').map((l) => JSON.parse(l));
    expect(result).toMatchObject({ digest: `sha256:${hash.digest('hex')}`, size: 512 << 20, existed: false });
    const rssMiB = usage.maxRSS / 1024;
    expect(rssMiB).toBeLessThan(200);
  }, 60_000);
});
