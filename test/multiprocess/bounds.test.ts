/**
 * Issue 8: "--expected-size does not bound the write", "verify --delete-corrupt deletes a
 * blob repaired while it runs", and the smaller items — a fresh lock with a garbage owner
 * record, a torn status record, blobs' mode under umask 077.
 */
import { spawn } from 'node:child_process';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { blobNames, CLI, cli, deadPid, ingestPaths, layoutIngest, Proc, seededBytes, sha256, useScratch } from './helpers.js';

const { newRoot, track } = useScratch('bounds');

describe('--expected-size bounds the write', () => {
  it('`yes | dist ingest --expected-size 10 r` fails at once (exit 6) and keeps nothing beyond 10 bytes', async () => {
    const root = await newRoot();
    const t0 = Date.now();
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const env = { ...process.env, DIST_JOBS: '1' };
      delete env.DIST_ROOT;
      const p = spawn('sh', ['-c', `yes | ${process.execPath} ${CLI} --root ${root} ingest --expected-size 10 r`], { env });
      let err = '';
      p.stderr.on('data', (c) => (err += c));
      p.on('close', (code) => resolve({ code, stderr: err }));
    });
    expect(r.code, r.stderr).toBe(6);
    expect(r.stderr).toMatch(/exceeds the expected size 10 of ref "r"/);
    expect(Date.now() - t0).toBeLessThan(5000);
    const size = (await stat(ingestPaths(root, 'r').data).catch(() => undefined))?.size ?? 0;
    expect(size).toBeLessThanOrEqual(10);
    expect(await blobNames(root)).toEqual([]);
  });

  it('the library: a write past total is FailedPrecondition ERR_SIZE_EXCEEDED, nothing past total is kept', async () => {
    const root = await newRoot();
    const { ingest } = await import('./helpers.js');
    const r = await ingest({ root, ref: 'over', content: { seed: 1, size: 5000 }, size: 4000, source: 'stream', chunk: 1000 });
    expect(r).toMatchObject({ tag: 'error', kind: 'FailedPrecondition', code: 'ERR_SIZE_EXCEEDED' });
    expect((await stat(ingestPaths(root, 'over').data)).size).toBeLessThanOrEqual(4000);
  });
});

describe('verify --delete-corrupt acts only on the file it hashed', () => {
  it('a blob deleted and stored again (good) while verify runs is kept; verify says so', async () => {
    const root = await newRoot();
    const good = seededBytes(41, 300_000);
    const D = sha256(good);
    expect((await cli(root, ['ingest', '--expected-digest', D], { input: good })).code).toBe(0);
    const blob = join(root, 'blobs', 'sha256', D.slice(7));
    await chmod(blob, 0o644);
    const bad = Buffer.from(good);
    bad[123] ^= 1;
    await writeFile(blob, bad);
    await chmod(blob, 0o444);

    const env = { ...process.env, DIST_JOBS: '1', CONTAINERKIT_CRASHPOINT: 'verify:before-quarantine' };
    delete env.DIST_ROOT;
    const v = track(new Proc(process.execPath, [CLI, '--root', root, 'verify', '--delete-corrupt', D], { env }));
    await v.stderrIncludes('CRASHPOINT verify:before-quarantine');
    // Meanwhile the corrupt copy is deleted and the good content stored again.
    expect((await cli(root, ['delete', D])).code).toBe(0);
    expect((await cli(root, ['ingest', '--expected-digest', D], { input: good })).code).toBe(0);
    v.proc.kill('SIGCONT');
    const r = await v.exited;
    expect(r.code).toBe(9); // it did find corruption
    expect(r.stdout).toMatch(new RegExp(`^corrupt  ${D}  .*\\(kept: replaced since it was hashed\\)\\n$`));
    expect(sha256(await readFile(blob))).toBe(D);
    expect((await cli(root, ['verify'])).code).toBe(0);
  });
});

describe('what listings show', () => {
  it('a fresh lock whose owner record is garbage shows no owner (not the dead pid of an old status record)', async () => {
    const root = await newRoot();
    const dead = await deadPid();
    await layoutIngest(root, {
      ref: 'garbage-owner',
      data: Buffer.from('abc'),
      status: { owner: { pid: dead, host: 'h' } },
      lock: { owner: 'torn' },
    });
    const r = await cli(root, ['active', '--json']);
    const row = (JSON.parse(r.stdout) as Array<Record<string, unknown>>).find((s) => s.ref === 'garbage-owner');
    expect(row).toMatchObject({ state: 'active', owner: null });
    const table = await cli(root, ['active']);
    expect(table.stdout).toMatch(/garbage-owner\s.*\s-\s+active\n/);
    expect(table.stdout).not.toContain(String(dead));
  });

  it('a torn status record: the ingest is still listed (by key, damaged), pruned, and resumed', async () => {
    const root = await newRoot();
    const p = await layoutIngest(root, { ref: 'torn', data: Buffer.from('partial'), status: 'torn' });
    const r = await cli(root, ['active', '--json']);
    const rows = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
    expect(rows).toEqual([expect.objectContaining({ ref: '', key: p.dir.split('/').pop(), damaged: true, offset: 7 })]);
    const table = await cli(root, ['active']);
    expect(table.stdout).toMatch(/\(unreadable status\) [0-9a-f]{16}…\s+7\s/);
    const w = await cli(root, ['ingest', 'torn'], { input: 'partial data, whole' });
    expect(w.code, w.stderr).toBe(0);
    expect(w.stdout.trim()).toBe(sha256('partial data, whole'));
  });

  it('under umask 077, blobs from add and from ingest are both 0444', async () => {
    const root = await newRoot();
    const file = join(root, '..', `f-${Date.now()}`);
    await writeFile(file, 'umask test');
    const run = (argv: string, input = '') =>
      new Promise<number | null>((resolve) => {
        const env = { ...process.env, DIST_JOBS: '1' };
        delete env.DIST_ROOT;
        const p = spawn('sh', ['-c', `umask 077; exec ${process.execPath} ${CLI} --root ${root} ${argv}`], { env });
        p.stdin.end(input);
        p.on('close', resolve);
      });
    expect(await run(`add ${file}`)).toBe(0);
    expect(await run('ingest r', 'other content')).toBe(0);
    const names = await blobNames(root);
    expect(names.length).toBe(2);
    for (const d of names) expect((await stat(join(root, 'blobs', 'sha256', d.slice(7)))).mode & 0o777).toBe(0o444);
  });
});
