/**
 * A 256 MiB image: a full pull, then interrupted pulls — SIGINT (exit 130, writers closed,
 * partial layers kept) and SIGKILL mid-layer — whose rerun resumes every partial layer with
 * Range requests, so the last run moves (through a counting proxy) fewer bytes than the
 * image holds, and all runs together about what it holds once.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { bigImage } from './helpers/big-image.js';
import { dist, expectOk, startDist, type Run } from './helpers/cli.js';
import { imageBytes, type Image } from './helpers/image.js';
import { startProxy, type Proxy } from './helpers/proxy.js';
import { pushImage } from './helpers/push.js';
import { startRegistry, type Registry } from './helpers/registry.js';
import { refNames, verifyAllBlobs } from './helpers/store-check.js';

const MiB = 1 << 20;
let reg: Registry;
let proxy: Proxy;
let tmp: string;
let img: Image;

beforeAll(async () => {
  reg = await startRegistry();
  proxy = await startProxy(reg.host);
  tmp = await mkdtemp(join(tmpdir(), 'ck-large-'));
  img = await bigImage();
  await pushImage({ host: reg.host }, 'large/img', 'v1', img);
}, 120_000);

afterAll(async () => {
  await proxy?.close();
  await reg?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** Bytes held by partial ingests (sum of ingest/<key>/data). */
function ingested(root: string): number {
  const dir = join(root, 'ingest');
  if (!existsSync(dir)) return 0;
  let n = 0;
  for (const e of readdirSync(dir)) {
    const data = join(dir, e, 'data');
    if (existsSync(data)) n += statSync(data).size;
  }
  return n;
}

/**
 * Bytes of the image on disk: partial ingests plus committed blobs. With several layers in
 * flight one may complete (and leave ingest/) during a stalled run, so partial data alone
 * can shrink while the pull progresses.
 */
function held(root: string): number {
  const dir = join(root, 'blobs', 'sha256');
  let n = ingested(root);
  if (existsSync(dir)) for (const e of readdirSync(dir)) n += statSync(join(dir, e)).size;
  return n;
}

/**
 * Waits until the proxy stalls and the pull has written what it received (minus its write
 * buffers); fails at once, with its stderr, if the pull exits first.
 */
async function waitStalled(root: string, stallAt: number, base: number, run: { done: Promise<Run> }): Promise<void> {
  let exited: Run | undefined;
  void run.done.then((r) => (exited = r));
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`pull exited early (${exited.code ?? exited.signal}): ${exited.stderr}`);
    if (proxy.blobBytes >= stallAt && held(root) - base >= stallAt - 4 * MiB) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`pull never reached ${stallAt} bytes (proxy ${proxy.blobBytes}, held ${held(root) - base} more than ${base})`);
}

test('pulls the 256 MiB image, every blob verified', async () => {
  const root = await mkdtemp(join(tmp, 'full-'));
  const name = `${reg.host}/large/img:v1`;
  const r = await dist(['pull', '--plain-http', name], { root });
  expectOk(r);
  expect(imageBytes(img)).toBeGreaterThan(256 * MiB);
  expect(await verifyAllBlobs(root)).toMatchObject({ count: 6, bad: [] });
  expect(refNames(root)[name]).toBe(img.manifest.digest);
}, 120_000);

test('SIGINT then SIGKILL mid-layer: the rerun resumes each partial layer from its offset', async () => {
  const root = await mkdtemp(join(tmp, 'resume-'));
  const name = `${proxy.host}/large/img:v1`;
  const total = imageBytes(img) - img.manifest.size;

  // 1. SIGINT after ~48 MiB: writers close (keeping data), exit 130.
  proxy.reset();
  proxy.options = { stallAfter: 48 * MiB };
  const first = startDist(['pull', '--plain-http', name], { root });
  await waitStalled(root, 48 * MiB, 0, first);
  first.child.kill('SIGINT');
  const r1 = await first.done;
  expect(r1.code).toBe(130);
  expect(r1.stderr).toMatch(/interrupted/);
  const moved1 = proxy.blobBytes;
  const kept1 = held(root);
  expect(kept1).toBeGreaterThan(40 * MiB);

  // 2. SIGKILL after ~80 MiB more: nothing gets to close.
  proxy.reset();
  proxy.options = { stallAfter: 80 * MiB };
  const second = startDist(['pull', '--plain-http', name], { root });
  await waitStalled(root, 80 * MiB, kept1, second);
  second.child.kill('SIGKILL');
  const r2 = await second.done;
  expect(r2.signal).toBe('SIGKILL');
  const moved2 = proxy.blobBytes;
  const kept2 = held(root);
  expect(kept2).toBeGreaterThan(kept1 + 70 * MiB);
  // The killed run continued the interrupted one's layers with Range (206).
  expect(proxy.log.filter((l) => l.range && l.status === 206).length).toBeGreaterThan(0);

  // 3. Rerun to completion.
  proxy.reset();
  proxy.options = {};
  const r3 = await dist(['pull', '--plain-http', name], { root });
  expectOk(r3);
  const moved3 = proxy.blobBytes;
  const mib = (n: number) => (n / MiB).toFixed(1);
  console.log(`resume: image ${mib(total)} MiB; SIGINT run moved ${mib(moved1)} (kept ${mib(kept1)}), SIGKILL run moved ${mib(moved2)} (kept ${mib(kept2)}), final run moved ${mib(moved3)} MiB`);
  const ranged = proxy.log.filter((l) => l.range);
  expect(ranged.length).toBeGreaterThan(0);
  for (const l of ranged) expect(l.status).toBe(206);
  expect(moved3).toBeLessThan(total - 100 * MiB);
  expect(moved3).toBeLessThanOrEqual(total - kept2);
  // Across all three runs, little more than the image itself moved (only bytes in flight at
  // a signal — socket and write buffers — can move twice).
  expect(moved1 + moved2 + moved3).toBeLessThan(total + 16 * MiB);
  expect(await verifyAllBlobs(root)).toMatchObject({ count: 6, bad: [] });
  expect(refNames(root)[name]).toBe(img.manifest.digest);
  expect(ingested(root)).toBe(0);
}, 150_000);
