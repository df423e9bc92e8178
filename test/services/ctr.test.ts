/**
 * containerd's own client against `dist serve`: `ctr` (Debian's containerd 1.6 package) talks
 * to a real server process over its socket — content ls, ingest, get, rm, label, active, an
 * ingest killed mid-way and resumed, `content fetch` from a real registry (leases, images),
 * images ls/rm, leases, version and plugins. No containerd daemon runs.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from '../helpers/bytes.js';
import { runCli } from '../helpers/cli.js';
import { cleanupAll, makeTempDir, type TempDir } from '../helpers/tmp.js';
import { image, layer } from '../registry/helpers/image.js';
import { pushImage } from '../registry/helpers/push.js';
import { startRegistry, type Registry } from '../registry/helpers/registry.js';
import { openRemoteStore } from '../../src/remote-store/store.js';
import { collect, ctr, ok } from './helpers/ctr.js';
import { requireCtr, startServe, type Served } from './helpers/serve.js';

const sha = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let tmp: TempDir;
let root: string;
let served: Served;
let sock: string;

beforeAll(async () => {
  requireCtr();
  tmp = await makeTempDir('ck-ctr-');
  root = join(tmp.dir, 'root');
  served = await startServe(root, `unix://${join(tmp.dir, 'dist.sock')}`);
  sock = served.socket!;
});

afterAll(async () => {
  const e = await served?.stop();
  await cleanupAll();
  expect(e?.code, served?.stderr).toBe(0);
});

describe('ctr content against dist serve', () => {
  it('ingest, ls, get, label, rm: the blob lands in the root as dist sees it', async () => {
    const data = randomBytes(3 << 20);
    const d = sha(data);
    ok(await ctr(sock, ['content', 'ingest', '--expected-size', String(data.length), '--expected-digest', d, 'ctr-ingest-1'], { input: data }), 'ingest');
    const ls = ok(await ctr(sock, ['content', 'ls']), 'ls');
    expect(ls.stdout).toContain(d);
    expect(ls.stdout.split('\n')[0]).toMatch(/^DIGEST\s+SIZE\s+AGE\s+LABELS/);
    expect(ok(await ctr(sock, ['content', 'ls', '-q']), 'ls -q').stdout.split('\n')).toContain(d);

    const got = ok(await ctr(sock, ['content', 'get', d]), 'get');
    expect(got.stdoutBytes.equals(data)).toBe(true);

    // Labels: set two, remove one (`key=`), as containerd's Update field paths do.
    const labelled = ok(await ctr(sock, ['content', 'label', d, 'a=1', 'b=two']), 'label');
    expect(labelled.stdout.trim().split(',').sort()).toEqual(['a=1', 'b=two']);
    ok(await ctr(sock, ['content', 'label', d, 'a=']), 'label remove');
    expect(ok(await ctr(sock, ['content', 'ls']), 'ls').stdout).toMatch(new RegExp(`${d}.*b=two`));
    const info = JSON.parse((await runCli(['info', '--json', d], { root })).stdout) as Array<{ size: number; labels: Record<string, string> }>;
    expect(info[0]).toMatchObject({ size: data.length, labels: { b: 'two' } });

    // A filter: only blobs with label b.
    expect(ok(await ctr(sock, ['content', 'ls', '-q', 'labels.b==two']), 'ls filter').stdout.trim()).toBe(d);
    expect(ok(await ctr(sock, ['content', 'ls', '-q', 'labels.b==three']), 'ls filter').stdout.trim()).toBe('');

    const rm = ok(await ctr(sock, ['content', 'rm', d]), 'rm');
    expect(rm.stdout.trim()).toBe(d);
    expect((await runCli(['info', d], { root })).code).toBe(3);
    const again = await ctr(sock, ['content', 'get', d]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/not found/);
  });

  it('an ingest that already exists succeeds without a transfer; a wrong expected digest fails and keeps the data', async () => {
    const data = randomBytes(100_000);
    const d = sha(data);
    ok(await ctr(sock, ['content', 'ingest', '--expected-digest', d, 'dup-1'], { input: data }), 'first');
    ok(await ctr(sock, ['content', 'ingest', '--expected-digest', d, 'dup-2'], { input: data }), 'second (AlreadyExists is success)');
    const wrong = sha(randomBytes(10));
    const bad = await ctr(sock, ['content', 'ingest', '--expected-digest', wrong, 'bad-ingest'], { input: data });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/unexpected commit digest|failed precondition/i);
    const active = ok(await ctr(sock, ['content', 'active']), 'active');
    expect(active.stdout).toMatch(/bad-ingest\s+100kB/); // units.HumanSize: decimal
    ok(await runCli(['abort', 'bad-ingest'], { root }) as never, 'abort');
  });

  it('an ingest whose ctr is killed mid-way is resumed by the next ctr ingest, which sends only the rest', async () => {
    const size = 24 << 20;
    const data = randomBytes(size);
    const d = sha(data);
    const ref = 'killed-mid-way';
    // First client: fed 10 MiB through a pipe, then SIGKILLed while it waits for more.
    const first = spawn('ctr', ['-a', sock, 'content', 'ingest', '--expected-size', String(size), '--expected-digest', d, ref], { stdio: ['pipe', 'pipe', 'pipe'] });
    const done = collect(first, { timeoutMs: 60_000, keepStdin: true });
    first.stdin!.on('error', () => {});
    first.stdin!.write(data.subarray(0, 10 << 20));
    const store = await openRemoteStore(served.address);
    try {
      const statusOf = () => store.status(ref).catch(() => undefined);
      let st = await statusOf();
      for (let i = 0; i < 400 && (st?.offset ?? 0) < 10 << 20; i++) {
        await sleep(25);
        st = await statusOf();
      }
      expect(st?.offset).toBe(10 << 20);
      expect(st?.state).toBe('active');
      first.kill('SIGKILL');
      expect((await done).signal).toBe('SIGKILL');
      // The server released the ref when the stream died; the data is kept.
      for (let i = 0; i < 400 && st?.state !== 'idle'; i++) {
        await sleep(25);
        st = await statusOf();
      }
      expect({ state: st?.state, offset: st?.offset, total: st?.total, expected: st?.expected }).toEqual({ state: 'idle', offset: 10 << 20, total: size, expected: d });
    } finally {
      await store.close();
    }
    expect(ok(await ctr(sock, ['content', 'active']), 'active').stdout).toContain(ref);

    // The second client reads a file whose first 10 MiB are garbage: only a resume (seek to
    // the kept offset, send the rest) can commit the expected digest.
    const file = join(tmp.dir, 'resume-source');
    const source = Buffer.from(data);
    source.fill(0x5a, 0, 10 << 20);
    await writeFile(file, source);
    ok(await ctr(sock, ['content', 'ingest', '--expected-size', String(size), '--expected-digest', d, ref], { stdinFile: file }), 'resume');
    const got = ok(await ctr(sock, ['content', 'get', d]), 'get');
    expect(sha(got.stdoutBytes)).toBe(d);
    expect(ok(await ctr(sock, ['content', 'active']), 'active').stdout).not.toContain(ref);
  });

  it('ctr content rm deletes as containerd does, even a blob something references (dist delete would refuse)', async () => {
    const data = randomBytes(5000);
    const d = sha(data);
    ok(await ctr(sock, ['content', 'ingest', 'rooted-ctr'], { input: data }), 'ingest');
    ok(await ctr(sock, ['content', 'label', d, 'containerd.io/gc.root=now']), 'label');
    expect((await runCli(['delete', d], { root })).code).toBe(6);
    expect(ok(await ctr(sock, ['content', 'rm', d]), 'rm').stdout.trim()).toBe(d);
    expect((await runCli(['info', d], { root })).code).toBe(3);
    // Its labels went with it: content stored again starts unlabelled.
    ok(await ctr(sock, ['content', 'ingest', 'rooted-ctr-2'], { input: data }), 'ingest again');
    expect(ok(await ctr(sock, ['content', 'label', d]), 'labels').stdout.trim()).toBe('');
  });

  it('leases: ctr leases create/ls/rm are the root\'s leases', async () => {
    const created = ok(await ctr(sock, ['leases', 'create', '--id', 'ctr-lease', '--expires', '1h']), 'create');
    expect(created.stdout).toContain('ctr-lease');
    const ls = JSON.parse((await runCli(['lease', 'ls', '--json'], { root })).stdout) as Array<{ id: string; expiresAt?: string; state: string }>;
    const l = ls.find((x) => x.id === 'ctr-lease');
    expect(l?.state).toBe('live');
    expect(Date.parse(l!.expiresAt!) - Date.now()).toBeGreaterThan(50 * 60_000);
    expect(ok(await ctr(sock, ['leases', 'ls']), 'ls').stdout).toContain('ctr-lease');
    ok(await ctr(sock, ['leases', 'rm', 'ctr-lease']), 'rm');
    expect(ok(await ctr(sock, ['leases', 'ls']), 'ls').stdout).not.toContain('ctr-lease');
  });

  it('version and plugins ls answer from the server', async () => {
    const v = ok(await ctr(sock, ['version']), 'version');
    expect(v.stdout).toMatch(/Server:\s+Version:\s+\d+\.\d+\.\d+/);
    expect(v.stdout).toMatch(/UUID: [0-9a-f-]{36}/);
    const p = ok(await ctr(sock, ['plugins', 'ls']), 'plugins');
    expect(p.stdout).toMatch(/io\.containerd\.grpc\.v1\s+content\s+-\s+ok/);
    expect(p.stdout).toMatch(/io\.containerd\.content\.v1\s+remote\s+-\s+skip/);
  });
});

describe('ctr content fetch from a registry', () => {
  let reg: Registry;
  beforeAll(async () => {
    reg = await startRegistry();
  });
  afterAll(async () => {
    await reg?.stop();
  });

  it('fetches OCI and Docker images: dist images and dist verify see them, ctr images ls lists them, rm removes the name', async () => {
    const oci = image([await layer([{ name: 'a.bin', size: 300_000, seed: 'ctr-oci-a' }]), await layer([{ name: 'b.bin', size: 9 << 20, seed: 'ctr-oci-b' }])]);
    const docker = image([await layer([{ name: 'c.bin', size: 200_000, seed: 'ctr-docker-c' }], 'docker')], { format: 'docker' });
    await pushImage({ host: reg.host }, 'ctr/oci', 'v1', oci);
    await pushImage({ host: reg.host }, 'ctr/docker', 'v1', docker);
    const ociName = `${reg.host}/ctr/oci:v1`;
    const dockerName = `${reg.host}/ctr/docker:v1`;
    ok(await ctr(sock, ['content', 'fetch', '--plain-http', ociName], { timeoutMs: 120_000 }), 'fetch oci');
    ok(await ctr(sock, ['content', 'fetch', '--plain-http', dockerName], { timeoutMs: 120_000 }), 'fetch docker');

    const images = JSON.parse((await runCli(['images', '--json'], { root })).stdout) as Array<{ name: string; digest: string; complete: boolean }>;
    expect(images.find((i) => i.name === ociName)).toMatchObject({ digest: oci.manifest.digest, complete: true });
    expect(images.find((i) => i.name === dockerName)).toMatchObject({ digest: docker.manifest.digest, complete: true });
    const verify = await runCli(['verify'], { root });
    expect(verify.code, verify.stderr).toBe(0);
    for (const b of [oci.config, ...oci.layers, oci.manifest, docker.config, ...docker.layers, docker.manifest]) {
      expect((await runCli(['info', b.digest], { root })).code, b.digest).toBe(0);
    }
    // The fetch's lease was deleted at its end; the names keep the blobs.
    expect(JSON.parse((await runCli(['lease', 'ls', '--json'], { root })).stdout)).toEqual([]);
    // containerd's child labels (gc.ref.content.*) are on the manifest.
    const m = JSON.parse((await runCli(['info', '--json', oci.manifest.digest], { root })).stdout) as Array<{ labels: Record<string, string> }>;
    expect(m[0]!.labels['containerd.io/gc.ref.content.config']).toBe(oci.config.digest);

    const ls = ok(await ctr(sock, ['images', 'ls']), 'images ls');
    expect(ls.stdout).toContain(ociName);
    expect(ls.stdout).toContain(dockerName);
    expect(ls.stdout).toContain(oci.manifest.digest);
    expect(ok(await ctr(sock, ['images', 'ls', '-q']), 'ls -q').stdout.split('\n').sort()).toEqual(expect.arrayContaining([ociName, dockerName]));

    // A second fetch of the same image finds everything present and updates the name.
    ok(await ctr(sock, ['content', 'fetch', '--plain-http', ociName], { timeoutMs: 120_000 }), 'fetch again');

    ok(await ctr(sock, ['images', 'rm', dockerName]), 'images rm');
    expect(ok(await ctr(sock, ['images', 'ls', '-q']), 'ls -q').stdout).not.toContain(dockerName);
    const after = JSON.parse((await runCli(['images', '--json'], { root })).stdout) as Array<{ name: string }>;
    expect(after.map((i) => i.name)).toEqual([ociName]);
    const missing = await ctr(sock, ['images', 'rm', dockerName]);
    expect(missing.stderr + missing.stdout).toMatch(/not found/);
  });
});
