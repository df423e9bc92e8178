/** `dist verify` and verifyStore: re-hash committed blobs in the pool and report problems. */
import { chmod, mkdir, readdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyStore, type VerifyReport } from '../src/bulk/verify.js';
import { HashPool } from '../src/hash/pool.js';
import { digestOf, randomBytes } from './helpers/bytes.js';
import { runCli } from './helpers/cli.js';
import { cleanupAll, makeTempDir } from './helpers/tmp.js';

const pool = new HashPool({ threads: 2, idleTimeoutMs: 500 });
afterAll(async () => {
  await pool.close();
  await cleanupAll();
});

/** A store with `n` blobs added through the CLI; returns root and digests. */
async function populated(n = 20, extra: string[] = []): Promise<{ root: string; digests: string[] }> {
  const tmp = await makeTempDir();
  const src = join(tmp.dir, 'src');
  await mkdir(src);
  for (let i = 0; i < n; i++) await writeFile(join(src, `f${i}`), randomBytes(i === 0 ? 2 * 1024 * 1024 : 1000 + i * 100));
  const root = join(tmp.dir, 'store');
  const r = await runCli(['add', '-r', src, ...extra], { root });
  expect(r.code, r.stderr).toBe(0);
  return { root, digests: r.stdout.trim().split('\n').map((l) => l.split('  ')[0]!) };
}

function blobFile(root: string, digest: string): string {
  const [alg, hex] = digest.split(':');
  return join(root, 'blobs', alg!, hex!);
}

/** chmod +w, flip one byte in the middle, as bit rot or a stray writer would. */
async function flipByte(path: string): Promise<void> {
  await chmod(path, 0o644);
  const data = await readFile(path);
  data[data.length >> 1] ^= 0xff;
  await writeFile(path, data);
  await chmod(path, 0o444);
}

describe('dist verify', () => {
  it('a clean store verifies: exit 0, summary on stderr', async () => {
    const { root } = await populated();
    const r = await runCli(['verify'], { root });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/verified 20 blob\(s\), .*: 20 ok, 0 problem\(s\)/);
  });

  it('a corrupted blob exits 9 (DataLoss) and is named; --delete-corrupt removes it', async () => {
    const { root, digests } = await populated();
    const bad = digests[3]!;
    await flipByte(blobFile(root, bad));
    const r = await runCli(['verify'], { root });
    expect(r.code).toBe(9);
    // Regression (issue 9): each problem was printed twice (stdout and a `dist:` line).
    expect(r.stdout).toMatch(new RegExp(`^corrupt  ${bad}  content hashes to sha256:[0-9a-f]{64} \\(\\d+ bytes\\)\n$`));
    expect(r.stderr).not.toContain(bad);

    const del = await runCli(['verify', '--delete-corrupt'], { root });
    expect(del.code).toBe(9);
    // Moved out of the store, kept for inspection under quarantine/.
    expect(del.stdout).toMatch(
      new RegExp(`^corrupt  ${bad}  content hashes to sha256:[0-9a-f]{64} \\(\\d+ bytes\\)  \\(moved to ${join(root, 'quarantine')}/sha256-${bad.slice(7)}-\\d+-[0-9a-f]{8}\\)\n$`),
    );
    expect((await readdir(join(root, 'blobs', 'sha256'))).map((h) => `sha256:${h}`)).not.toContain(bad);

    const after = await runCli(['verify'], { root });
    expect(after.code, after.stderr).toBe(0);
    expect(after.stderr).toMatch(/verified 19 blob\(s\)/);
  });

  it('a truncated blob is reported as truncated', async () => {
    const { root, digests } = await populated(5);
    const bad = digests[1]!;
    await chmod(blobFile(root, bad), 0o644);
    await truncate(blobFile(root, bad), 0);
    const r = await runCli(['verify', '--json'], { root });
    expect(r.code).toBe(9);
    const report = JSON.parse(r.stdout) as VerifyReport;
    expect(report.issues).toEqual([expect.objectContaining({ problem: 'truncated', digest: bad, size: 0 })]);
  });

  // Regression (issue 9): the README promised "truncated" for a blob cut short; the store
  // keeps no size record, so a shortened non-empty blob is corrupt, as README and --help now say.
  it('a blob cut short by one byte is reported as corrupt', async () => {
    const { root, digests } = await populated(5);
    const bad = digests[2]!;
    const file = blobFile(root, bad);
    await chmod(file, 0o644);
    await truncate(file, (await readFile(file)).length - 1);
    const r = await runCli(['verify'], { root });
    expect(r.code).toBe(9);
    expect(r.stdout).toMatch(new RegExp(`^corrupt  ${bad}  content hashes to sha256:[0-9a-f]{64} \\(\\d+ bytes\\)\n$`));
  });

  it('misnamed files under blobs/ are reported (and never deleted)', async () => {
    const { root } = await populated(3);
    const dir = join(root, 'blobs', 'sha256');
    await writeFile(join(dir, 'not-a-digest'), 'x');
    await writeFile(join(dir, 'AB'.repeat(32)), 'upper-case hex'); // right length, wrong case
    await mkdir(join(root, 'blobs', 'md5'));
    const r = await runCli(['verify', '--json', '--delete-corrupt'], { root });
    expect(r.code).toBe(9);
    const report = JSON.parse(r.stdout) as VerifyReport;
    expect(report.checked).toBe(3);
    expect(report.issues.map((i) => [i.problem, i.path]).sort()).toEqual(
      [
        ['misnamed', join(dir, 'not-a-digest')],
        ['misnamed', join(dir, 'AB'.repeat(32))],
        ['misnamed', join(root, 'blobs', 'md5')],
      ].sort(),
    );
    expect(report.issues.some((i) => i.deleted)).toBe(false);
    expect(await readdir(dir)).toContain('not-a-digest');
  });

  it('--json parses; named digests only; an absent one exits 3, a malformed one 7', async () => {
    const { root, digests } = await populated(4);
    const r = await runCli(['verify', '--json', digests[0]!, digests[2]!], { root });
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as VerifyReport;
    expect(report).toMatchObject({ checked: 2, ok: 2, issues: [] });
    expect(report.steps.map((s) => s.name)).toEqual(['list', 'rehash']);

    const absent = digestOf('nowhere');
    const missing = await runCli(['verify', absent], { root });
    expect(missing.code).toBe(3);
    expect(missing.stdout).toBe(`missing  ${absent}  ${absent} is not in the store\n`);
    expect((await runCli(['verify', 'sha256:xyz'], { root })).code).toBe(7);
  });

  it('--hash native and --hash wasm agree; sha512 and blake3 stores verify too', async () => {
    for (const alg of ['sha512', 'blake3']) {
      const { root, digests } = await populated(4, ['-a', alg]);
      expect(digests.every((d) => d.startsWith(`${alg}:`))).toBe(true);
      for (const mode of ['native', 'wasm']) {
        const r = await runCli(['verify', '--hash', mode], { root });
        expect(r.code, r.stderr).toBe(0);
      }
      await flipByte(blobFile(root, digests[0]!));
      for (const mode of ['native', 'wasm']) {
        const r = await runCli(['verify', '--hash', mode], { root });
        expect(r.code).toBe(9);
        expect(r.stdout).toMatch(new RegExp(`^corrupt  ${digests[0]}  content hashes to `));
      }
    }
  });
});

describe('verifyStore (library)', () => {
  it('reports progress and problems without a CLI', async () => {
    const { root, digests } = await populated(10);
    await flipByte(blobFile(root, digests[5]!));
    const seen: number[] = [];
    const report = await verifyStore({ root }, { pool, onProgress: (p) => seen.push(p.filesDone) });
    expect(report).toMatchObject({ checked: 10, ok: 9 });
    expect(report.issues).toEqual([expect.objectContaining({ problem: 'corrupt', digest: digests[5] })]);
    expect(seen[0]).toBe(0);
    expect(seen.at(-1)).toBe(10);
  });

  it('an empty or absent store verifies clean', async () => {
    const tmp = await makeTempDir();
    expect(await verifyStore({ root: join(tmp.dir, 'none') }, { pool })).toMatchObject({ checked: 0, issues: [] });
  });
});
