/**
 * `dist copy SRC DST`: pull into the store, then push — between two registries (same
 * digests at the destination, SRC named in the store), a whole index with --all-platforms,
 * and within one registry, where the push mounts every blob from SRC's repository.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { dist, expectOk } from './helpers/cli.js';
import { image, imageBytes, index, layer, type Blob, type Image } from './helpers/image.js';
import { startProxy, type Proxy } from './helpers/proxy.js';
import { pushImage, pushIndex } from './helpers/push.js';
import { startRegistry, type Registry } from './helpers/registry.js';
import { remoteManifest } from './helpers/registry-read.js';
import { refNames } from './helpers/store-check.js';

let a: Registry;
let b: Registry;
let proxyA: Proxy;
let tmp: string;
let img: Image;
let amd64: Image;
let arm64: Image;
let multi: Blob & { bytes: Buffer };

beforeAll(async () => {
  [a, b] = await Promise.all([startRegistry(), startRegistry()]);
  proxyA = await startProxy(a.host);
  tmp = await mkdtemp(join(tmpdir(), 'ck-copy-'));
  img = image([await layer([{ name: 'c1.bin', size: 6 << 20, seed: 'copy-1' }]), await layer([{ name: 'c2.bin', size: 1 << 20, seed: 'copy-2' }])]);
  amd64 = image([await layer([{ name: 'amd.bin', size: 1 << 20, seed: 'copy-amd64' }])], { platform: { os: 'linux', architecture: 'amd64' } });
  arm64 = image([await layer([{ name: 'arm.bin', size: 1 << 20, seed: 'copy-arm64' }])], { platform: { os: 'linux', architecture: 'arm64' } });
  multi = index([amd64, arm64]);
  await pushImage({ host: a.host }, 'copy/app', 'v1', img);
  await pushIndex({ host: a.host }, 'copy/multi', 'v1', [amd64, arm64], multi);
});

afterAll(async () => {
  await proxyA?.close();
  await Promise.all([a?.stop(), b?.stop()]);
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

test('between two registries: the destination serves the same manifest; the store keeps SRC', async () => {
  const root = await mkdtemp(join(tmp, 'two-'));
  const r = await dist(['copy', '--plain-http', '--json', `${a.host}/copy/app:v1`, `${b.host}/mirror/app`], { root });
  expectOk(r);
  const done = r.stdout.toString().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e.event === 'done');
  expect(done).toEqual([
    expect.objectContaining({ name: `${a.host}/copy/app:v1`, receivedBytes: imageBytes(img) - img.manifest.size }),
    expect.objectContaining({ name: `${b.host}/mirror/app:v1`, sentBytes: imageBytes(img) - img.manifest.size }),
  ]);
  expect((await remoteManifest(b.host, 'mirror/app', 'v1'))?.equals(img.manifest.bytes)).toBe(true);
  expect(refNames(root)).toEqual({ [`${a.host}/copy/app:v1`]: img.manifest.digest });
});

test('--all-platforms copies the whole index', async () => {
  const root = await mkdtemp(join(tmp, 'index-'));
  expectOk(await dist(['copy', '--plain-http', '--all-platforms', `${a.host}/copy/multi:v1`, `${b.host}/mirror/multi:v1`], { root }));
  expect((await remoteManifest(b.host, 'mirror/multi', 'v1'))?.equals(multi.bytes)).toBe(true);
  for (const child of [amd64, arm64]) expect((await remoteManifest(b.host, 'mirror/multi', child.manifest.digest))?.equals(child.manifest.bytes)).toBe(true);
});

test('within one registry the push mounts from the source repository: no blob uploaded', async () => {
  const root = await mkdtemp(join(tmp, 'same-'));
  const r = await dist(['copy', '--plain-http', `${proxyA.host}/copy/app:v1`, `${proxyA.host}/copy/app-renamed:v2`], { root });
  expectOk(r);
  expect(proxyA.uploadBytes).toBe(0);
  expect(r.stdout.toString()).toMatch(/0B uploaded, 3 mounted/);
  expect((await remoteManifest(a.host, 'copy/app-renamed', 'v2'))?.equals(img.manifest.bytes)).toBe(true);
});
