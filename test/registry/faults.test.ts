/**
 * Pull through a fault-injecting proxy: dropped connections resume with Range; a proxy that
 * strips Range makes the layer restart from zero (still correct); a corrupted byte fails
 * verification with nothing wrong committed; 5xx is retried with backoff; redirects to
 * "blob storage" are followed; an unreachable registry is Unavailable.
 */
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, expect, test } from 'vitest';
import { dist, expectOk } from './helpers/cli.js';
import { image, imageBytes, layer, type Image } from './helpers/image.js';
import { startProxy, type Proxy } from './helpers/proxy.js';
import { pushImage } from './helpers/push.js';
import { freePort, startRegistry, type Registry } from './helpers/registry.js';
import { blobFiles, hasBlob, refNames, verifyAllBlobs } from './helpers/store-check.js';

let reg: Registry;
let proxy: Proxy;
let tmp: string;
let img: Image;
const MiB = 1 << 20;

beforeAll(async () => {
  reg = await startRegistry();
  proxy = await startProxy(reg.host);
  tmp = await mkdtemp(join(tmpdir(), 'ck-faults-'));
  img = image([await layer([{ name: 'big.bin', size: 24 * MiB, seed: 'faults-big' }]), await layer([{ name: 's.bin', size: MiB, seed: 'faults-s' }])]);
  await pushImage({ host: reg.host }, 'faults/img', 'v1', img);
});

afterAll(async () => {
  await proxy?.close();
  await reg?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

beforeEach(() => {
  proxy.reset();
  proxy.options = {};
});

const name = () => `${proxy.host}/faults/img:v1`;
const big = () => img.layers[0]!;
const root = (n: string) => mkdtemp(join(tmp, `${n}-`));

function ingestCount(r: string): number {
  const dir = join(r, 'ingest');
  return existsSync(dir) ? readdirSync(dir).filter((e) => !e.includes('.')).length : 0;
}

test('a dropped connection resumes at its offset with Range (206): no byte moves twice', async () => {
  const r = await root('drop');
  proxy.options.dropAfter = 10 * MiB;
  const run = await dist(['pull', '--plain-http', '-j', '1', name()], { root: r });
  expectOk(run);
  const ranged = proxy.log.filter((l) => l.range);
  expect(ranged).toHaveLength(1);
  expect(ranged[0]).toMatchObject({ range: `bytes=${10 * MiB}-`, status: 206 });
  expect(proxy.blobBytes).toBe(imageBytes(img) - img.manifest.size);
  expect(await verifyAllBlobs(r)).toMatchObject({ bad: [] });
  expect(refNames(r)[name()]).toBe(img.manifest.digest);
});

test('a proxy that strips Range: the layer restarts from zero (200) and is still correct', async () => {
  const r = await root('strip');
  proxy.options.dropAfter = 10 * MiB;
  proxy.options.stripRange = true;
  const run = await dist(['pull', '--plain-http', '-j', '1', name()], { root: r });
  expectOk(run);
  const retry = proxy.log.find((l) => l.range);
  expect(retry).toMatchObject({ range: `bytes=${10 * MiB}-`, status: 200 });
  // 10 MiB were thrown away and fetched again.
  expect(proxy.blobBytes).toBe(imageBytes(img) - img.manifest.size + 10 * MiB);
  expect(await verifyAllBlobs(r)).toMatchObject({ bad: [] });
  expect(hasBlob(r, big().digest)).toBe(true);
});

test('a 206 whose Content-Range does not start at the offset is a clear error; the partial is kept', async () => {
  const r = await root('skew');
  proxy.options.dropAfter = 10 * MiB;
  proxy.options.skewContentRange = true;
  const run = await dist(['pull', '--plain-http', '-j', '1', name()], { root: r });
  expect(run.code).toBe(5);
  expect(run.stderr).toContain(`asked for bytes from ${10 * MiB}, got Content-Range "bytes ${10 * MiB + 1}-`);
  expect(hasBlob(r, big().digest)).toBe(false);
  proxy.options = {};
  proxy.reset();
  expectOk(await dist(['pull', '--plain-http', name()], { root: r }));
  expect(proxy.log.filter((l) => l.range)).toEqual([expect.objectContaining({ range: `bytes=${10 * MiB}-`, status: 206 })]);
  expect(await verifyAllBlobs(r)).toMatchObject({ bad: [] });
});

test('a corrupted byte fails verification (exit 9); nothing wrong is committed; a clean rerun succeeds', async () => {
  const r = await root('corrupt');
  proxy.options.corruptAt = 5 * MiB + 7;
  proxy.options.corruptDigest = big().digest;
  const run = await dist(['pull', '--plain-http', name()], { root: r });
  expect(run.code).toBe(9);
  expect(run.stderr).toContain(big().digest);
  expect(run.stderr).toMatch(/digest mismatch|downloaded content has digest/);
  expect(hasBlob(r, big().digest)).toBe(false);
  expect(hasBlob(r, img.manifest.digest)).toBe(false);
  expect(existsSync(join(r, 'index.json')) ? refNames(r) : {}).toEqual({});
  expect((await verifyAllBlobs(r)).bad).toEqual([]);
  proxy.options = {};
  proxy.reset();
  const again = await dist(['pull', '--plain-http', name()], { root: r });
  expectOk(again);
  // The bad ingest was truncated: the layer came again from byte 0, not resumed.
  expect(proxy.log.filter((l) => l.range)).toEqual([]);
  expect(await verifyAllBlobs(r)).toMatchObject({ bad: [] });
  expect(ingestCount(r)).toBe(0);
});

test('503 answers are retried with backoff; a registry that keeps failing is Unavailable (exit 5)', async () => {
  const r = await root('503');
  proxy.options.fail503 = 3;
  const ok = await dist(['pull', '--plain-http', '-j', '1', name()], { root: r });
  expectOk(ok);
  expect(proxy.log.filter((l) => l.status === 503)).toHaveLength(3);

  const r2 = await root('503-forever');
  proxy.options.fail503 = 1000;
  const bad = await dist(['pull', '--plain-http', name()], { root: r2 });
  expect(bad.code).toBe(5);
  expect(bad.stderr).toMatch(/HTTP 503.*after 5 tries/);
  expect(blobFiles(r2).filter((d) => d === big().digest)).toEqual([]);
});

test('redirects to blob storage are followed', async () => {
  const r = await root('redirect');
  proxy.options.redirectBlobs = true;
  const run = await dist(['pull', '--plain-http', name()], { root: r });
  expectOk(run);
  expect(proxy.log.filter((l) => l.status === 307).length).toBeGreaterThanOrEqual(3);
  expect(proxy.log.filter((l) => l.path.startsWith('/_storage/')).length).toBeGreaterThanOrEqual(3);
  expect(await verifyAllBlobs(r)).toMatchObject({ bad: [] });
});

test('an unreachable registry is Unavailable (exit 5)', async () => {
  const port = await freePort();
  const run = await dist(['pull', '--plain-http', `127.0.0.1:${port}/faults/img:v1`], { root: await root('down') });
  expect(run.code).toBe(5);
  expect(run.stderr).toMatch(/ECONNREFUSED/);
});
