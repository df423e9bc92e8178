/**
 * Push through a fault-injecting proxy (4 MiB segments, so a layer takes several PATCHes):
 * 503 answers are retried from the offset the registry reports (nothing sent twice); a
 * connection reset mid-segment makes distribution drop the session and the blob starts
 * over; both end, when they never stop, in bounded retries and one clear error (exit 5). A
 * corrupt local blob is never committed (exit 9), an unreachable registry is exit 5.
 */
import { chmodSync, openSync, readdirSync, readFileSync, writeSync, closeSync, existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, expect, test } from 'vitest';
import { dist, expectOk } from './helpers/cli.js';
import { image, layer, type Image } from './helpers/image.js';
import { startProxy, type Proxy } from './helpers/proxy.js';
import { pushImage } from './helpers/push.js';
import { freePort, startRegistry, type Registry } from './helpers/registry.js';
import { hasRemoteBlob, remoteManifest } from './helpers/registry-read.js';

const MiB = 1 << 20;
let src: Registry;
let dst: Registry;
let proxy: Proxy;
let tmp: string;
let img: Image;
let name: string;
let total: number;
const env = { DIST_PUSH_SEGMENT_BYTES: String(4 * MiB) };

beforeAll(async () => {
  [src, dst] = await Promise.all([startRegistry(), startRegistry()]);
  proxy = await startProxy(dst.host);
  tmp = await mkdtemp(join(tmpdir(), 'ck-push-faults-'));
  img = image([await layer([{ name: 'big.bin', size: 20 * MiB, seed: 'push-faults-big' }]), await layer([{ name: 's.bin', size: MiB, seed: 'push-faults-s' }])]);
  await pushImage({ host: src.host }, 'faults/img', 'v1', img);
  name = `${src.host}/faults/img:v1`;
  total = img.config.size + img.layers.reduce((t, l) => t + l.size, 0);
});

afterAll(async () => {
  await proxy?.close();
  await Promise.all([src?.stop(), dst?.stop()]);
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

beforeEach(() => {
  proxy.reset();
  proxy.options = {};
});

/** A fresh store holding the image (each test pushes to a registry that has never seen it from there). */
async function storeWithImage(tag: string): Promise<string> {
  const root = await mkdtemp(join(tmp, `${tag}-`));
  expectOk(await dist(['pull', '--plain-http', name], { root }));
  return root;
}

const big = () => img.layers[0]!;

// Regression: a 503 answered (and the connection closed) while a segment's write waited for
// 'drain' left a promise nothing settled; Node then exited 0 in the middle of the push.
test('503 answers mid-segment are retried from the offset the registry reports: the image arrives, nothing sent twice', async () => {
  const root = await storeWithImage('503');
  // Two segments of the big layer go through (8 MiB acknowledged), then three PATCHes get 503.
  proxy.options = { failUploads503: 3, failUploads503Method: 'PATCH', failUploads503Skip: 2 };
  const r = await dist(['push', '--plain-http', '--json', '-j', '1', name, `${proxy.host}/faults/a503:v1`], { root, env });
  expectOk(r);
  expect(proxy.log.filter((l) => l.status === 503)).toHaveLength(3);
  expect(proxy.log.filter((l) => l.method === 'GET' && l.path.includes('/blobs/uploads/') && l.status === 204)).toHaveLength(3);
  const ev = r.stdout.toString().trim().split('\n').map((l) => JSON.parse(l) as { event: string; digest?: string; state?: string; offset?: number });
  const from = ev.filter((e) => e.event === 'blob' && e.digest === big().digest && e.state === 'uploading').map((e) => e.offset);
  expect(from).toEqual([0, 8 * MiB, 8 * MiB, 8 * MiB]);
  expect(proxy.uploadBytes).toBe(total);
  expect((await remoteManifest(dst.host, 'faults/a503', 'v1'))?.equals(img.manifest.bytes)).toBe(true);
});

test('a registry that keeps answering 503: bounded retries, then one clear error (exit 5)', async () => {
  const root = await storeWithImage('503-always');
  proxy.options.failUploads503 = 1_000;
  const t = Date.now();
  const r = await dist(['push', '--plain-http', '-j', '1', name, `${proxy.host}/faults/always:v1`], { root, env });
  expect(r.code).toBe(5);
  expect(r.stderr).toMatch(new RegExp(`^dist: blob sha256:[0-9a-f]{64}: upload to ${proxy.host}/faults/always failed after 5 tries: .*HTTP 503.*injected by the test proxy\\n$`));
  expect(Date.now() - t).toBeLessThan(30_000);
  expect(await remoteManifest(dst.host, 'faults/always', 'v1')).toBeUndefined();
});

test('a connection reset mid-segment: the registry drops that session, the blob starts over in a new one', async () => {
  const root = await storeWithImage('reset');
  proxy.options.resetUploadAfter = 2 * MiB;
  const r = await dist(['push', '--plain-http', '-j', '1', name, `${proxy.host}/faults/reset:v1`], { root, env });
  expectOk(r);
  // The session whose data outgrew its signed offset is gone; a new one starts from 0.
  const uploads = proxy.log.filter((l) => l.path.includes('/blobs/uploads/'));
  expect(uploads.some((l) => l.method === 'GET' && l.status === 404)).toBe(true);
  expect(uploads.filter((l) => l.method === 'POST').length).toBeGreaterThanOrEqual(img.layers.length + 2);
  expect(proxy.uploadBytes).toBeGreaterThan(total);
  expect(proxy.uploadBytes).toBeLessThanOrEqual(total + big().size);
  expect((await remoteManifest(dst.host, 'faults/reset', 'v1'))?.equals(img.manifest.bytes)).toBe(true);
});

test('resets on every try: bounded retries, then one clear error (exit 5)', async () => {
  const root = await storeWithImage('reset-always');
  proxy.options = { resetUploadAfter: 2 * MiB, resetUploads: 1_000 };
  const r = await dist(['push', '--plain-http', '-j', '1', name, `${proxy.host}/faults/resets:v1`], { root, env });
  expect(r.code).toBe(5);
  expect(r.stderr).toMatch(new RegExp(`^dist: blob ${big().digest}: upload to ${proxy.host}/faults/resets failed after 5 tries: `));
  expect(r.stderr.split('\n')).toHaveLength(2);
});

function flipByte(root: string, digest: string, at: number): void {
  const path = join(root, 'blobs', ...digest.split(':'));
  chmodSync(path, 0o644);
  const fd = openSync(path, 'r+');
  const b = readFileSync(path).subarray(at, at + 1);
  writeSync(fd, Buffer.from([b[0]! ^ 0xff]), 0, 1, at);
  closeSync(fd);
  chmodSync(path, 0o444);
}

function sessions(root: string): unknown[] {
  const dir = join(root, 'uploads');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => /^[0-9a-f]{64}$/.test(f)).flatMap((f) => {
    const s = (JSON.parse(readFileSync(join(dir, f), 'utf8')) as { session?: unknown }).session;
    return s ? [s] : [];
  });
}

test('a corrupt local layer is never committed: DataLoss (exit 9), its upload cancelled, nothing tagged', async () => {
  const root = await storeWithImage('corrupt');
  flipByte(root, big().digest, 15 * MiB);
  const r = await dist(['push', '--plain-http', '-j', '1', name, `${proxy.host}/faults/corrupt:v1`], { root, env });
  expect(r.code).toBe(9);
  expect(r.stderr).toMatch(new RegExp(`^dist: layer ${big().digest} in the store is corrupt: it hashes to sha256:[0-9a-f]{64}; nothing of it was committed to the registry \\(dist verify ${big().digest}\\)\\n$`));
  expect(await hasRemoteBlob(dst.host, 'faults/corrupt', big().digest)).toBe(false);
  expect(proxy.log.some((l) => l.method === 'DELETE' && l.path.includes('/blobs/uploads/'))).toBe(true);
  expect(proxy.log.some((l) => l.method === 'PUT' && l.path.includes(encodeURIComponent(big().digest)))).toBe(false);
  expect(await remoteManifest(dst.host, 'faults/corrupt', 'v1')).toBeUndefined();
  expect(sessions(root)).toEqual([]);
});

test('a corrupt small (monolithic) blob is caught before a byte of it is sent', async () => {
  const root = await storeWithImage('corrupt-small');
  const small = img.layers[1]!;
  flipByte(root, small.digest, 100);
  const r = await dist(['push', '--plain-http', '-j', '1', name, `${proxy.host}/faults/corrupt-small:v1`], { root, env });
  expect(r.code).toBe(9);
  expect(r.stderr).toContain(`layer ${small.digest} in the store is corrupt`);
  // Config and the big layer went; the small one: no upload was even started for it.
  expect(proxy.uploadBytes).toBe(img.config.size + big().size);
  expect(proxy.log.some((l) => l.path.includes(encodeURIComponent(small.digest)) && l.method !== 'HEAD')).toBe(false);
  expect(await remoteManifest(dst.host, 'faults/corrupt-small', 'v1')).toBeUndefined();
});

test('an unreachable registry is Unavailable (exit 5)', async () => {
  const root = await storeWithImage('unreachable');
  const port = await freePort();
  const r = await dist(['push', '--plain-http', name, `127.0.0.1:${port}/faults/x:v1`], { root, env });
  expect(r.code).toBe(5);
  expect(r.stderr).toMatch(new RegExp(`^dist: blob 127\\.0\\.0\\.1:${port}/faults/x@sha256:[0-9a-f]{64}: 127\\.0\\.0\\.1:${port}: connect ECONNREFUSED`));
});
