/**
 * `dist fetch REMOTE OBJECT [mediatype:TYPE]…` against a real registry: manifests by tag and
 * digest, blobs by digest, the Accept list, the seed's manifest → layers pipeline, errors.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { dist, expectOk } from './helpers/cli.js';
import { image, index, layer, MT, type Image } from './helpers/image.js';
import { startProxy, type Proxy } from './helpers/proxy.js';
import { pushImage, pushIndex } from './helpers/push.js';
import { startRegistry, type Registry } from './helpers/registry.js';

let reg: Registry;
let proxy: Proxy;
let root: string;
let img: Image;
let multi: ReturnType<typeof index>;

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

beforeAll(async () => {
  reg = await startRegistry();
  proxy = await startProxy(reg.host);
  root = await mkdtemp(join(tmpdir(), 'ck-fetch-'));
  img = image([await layer([{ name: 'a.bin', size: 300_000, seed: 'fa' }]), await layer([{ name: 'b.bin', size: 12 << 20, seed: 'fb' }])]);
  await pushImage({ host: reg.host }, 'fetch/img', 'v1', img);
  const arm = image([img.layers[0]!], { platform: { os: 'linux', architecture: 'arm64' } });
  multi = index([img, arm], 'docker');
  await pushIndex({ host: reg.host }, 'fetch/img', 'multi', [img, arm], multi);
});

afterAll(async () => {
  await proxy?.close();
  await reg?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

const remote = () => `${proxy.host}/fetch/img`;

test('manifest by tag and by digest, byte for byte, with the full Accept list', async () => {
  proxy.reset();
  const byTag = await dist(['fetch', '--plain-http', remote(), 'v1'], { root });
  expectOk(byTag);
  expect(byTag.stdout.equals(img.manifest.bytes)).toBe(true);
  const accept = proxy.log.find((r) => r.path.includes('/manifests/'))!.accept!;
  for (const t of [MT.ociManifest, MT.ociIndex, MT.dockerManifest, MT.dockerList]) expect(accept).toContain(t);
  const byDigest = await dist(['fetch', '--plain-http', remote(), img.manifest.digest], { root });
  expect(byDigest.stdout.equals(img.manifest.bytes)).toBe(true);
  const list = await dist(['fetch', '--plain-http', remote(), 'multi', `mediatype:${MT.dockerList}`], { root });
  expect(list.stdout.equals(multi.bytes)).toBe(true);
  expect(proxy.log.at(-1)!.accept!.startsWith(MT.dockerList)).toBe(true);
  // REMOTE may carry the tag itself.
  expect((await dist(['fetch', '--plain-http', `${remote()}:v1`], { root })).stdout.equals(img.manifest.bytes)).toBe(true);
});

test("the seed's pipeline: manifest → config and layer digests → blobs", async () => {
  const manifest = JSON.parse((await dist(['fetch', '--plain-http', remote(), 'v1'], { root })).stdout.toString());
  const digests: string[] = [manifest.config.digest, ...manifest.layers.map((l: { digest: string }) => l.digest)];
  for (const d of digests) {
    const r = await dist(['fetch', '--plain-http', remote(), d], { root });
    expectOk(r);
    expect(sha(r.stdout)).toBe(d);
  }
  const hinted = await dist(['fetch', '--plain-http', remote(), img.config.digest, `mediatype:${MT.ociConfig}`], { root });
  expect(hinted.stdout.equals(img.config.bytes)).toBe(true);
});

test('a blob fetch survives a dropped connection (resumes with Range)', async () => {
  proxy.reset();
  proxy.options.dropAfter = 5 << 20;
  const big = img.layers[1]!;
  const r = await dist(['fetch', '--plain-http', remote(), big.digest], { root });
  expectOk(r);
  expect(sha(r.stdout)).toBe(big.digest);
  expect(proxy.log.some((l) => l.range === `bytes=${5 << 20}-` && l.status === 206)).toBe(true);
});

test('errors: unknown tag/blob → 3, bad reference → 7, corrupted blob → 9', async () => {
  const tag = await dist(['fetch', '--plain-http', remote(), 'nope'], { root });
  expect([tag.code, tag.stdout.length]).toEqual([3, 0]);
  expect(tag.stderr).toMatch(/^dist: manifest .*fetch\/img:nope: not found/);
  const blob = await dist(['fetch', '--plain-http', remote(), `sha256:${'1'.repeat(64)}`], { root });
  expect(blob.code).toBe(3);
  expect(blob.stderr).toMatch(/blob .*not found/);
  expect((await dist(['fetch', '--plain-http', 'Bad Name', 'v1'], { root })).code).toBe(7);
  expect((await dist(['fetch', '--plain-http', remote(), 'sha256:xyz'], { root })).code).toBe(7);
  proxy.options.corruptAt = 100;
  try {
    const bad = await dist(['fetch', '--plain-http', remote(), img.layers[0]!.digest], { root });
    expect(bad.code).toBe(9);
    expect(bad.stderr).toMatch(/digest mismatch/);
  } finally {
    proxy.options.corruptAt = undefined;
  }
});
