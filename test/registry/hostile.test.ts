/**
 * A hostile registry (issue 8, item 7): every document the client holds in memory —
 * manifests, indexes, token responses, error bodies — is read with a size cap and a time
 * limit, so a registry that declares absurd sizes, streams forever or drips a byte at a
 * time makes `dist pull` / `dist fetch` fail fast with a clear error and bounded memory.
 * Each scenario runs the real CLI against a node http server on 127.0.0.1 and measures the
 * child's peak RSS (ru_maxrss at exit); a watchdog kills a child that runs away.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, expect, test } from 'vitest';
import { drip, endless, startHostile, type Hostile } from './helpers/hostile.js';
import { MT } from './helpers/image.js';
import { measureDist, type Measured } from './helpers/measure.js';

const MiB = 1 << 20;
/** The per-document cap (src/remote/limits.ts MAX_MANIFEST). */
const LIMIT = 4 * MiB;
/** Well above a pull's own footprint (~70 MB here), far below what an unbounded read reaches. */
const RSS_BOUND = 200 * MiB;
const FAST_MS = 5_000;

let reg: Hostile;
let tmp: string;

const sha = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}`;
const json = (res: import('node:http').ServerResponse, status: number, body: unknown, type = 'application/json') => {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
  res.end(text);
};
const manifestPath = (object: string) => `/v2/hostile/app/manifests/${object}`;

beforeAll(async () => {
  reg = await startHostile();
  tmp = await mkdtemp(join(tmpdir(), 'ck-hostile-'));
});

afterAll(async () => {
  await reg?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

beforeEach(() => {
  reg.routes.clear();
  reg.log = [];
  reg.sent = 0;
  reg.routes.set('/v2/', (_req, res) => json(res, 200, {}));
});

async function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Measured> {
  const root = await mkdtemp(join(tmp, 'root-'));
  const r = await measureDist(args, { root, env, ceilingBytes: 512 * MiB, deadlineMs: 30_000 });
  expect(r.killed, `watchdog: ${r.killed}; stderr: ${r.stderr}`).toBeUndefined();
  return r;
}

/** An index at :v1 naming one linux/amd64 + linux/arm64 child manifest of `size` bytes. */
function indexNaming(child: string, size: number): void {
  reg.routes.set(manifestPath('v1'), (_req, res) =>
    json(res, 200, {
      schemaVersion: 2,
      mediaType: MT.ociIndex,
      manifests: ['amd64', 'arm64'].map((architecture) => ({ mediaType: MT.ociManifest, digest: child, size, platform: { os: 'linux', architecture } })),
    }, MT.ociIndex),
  );
}

function expectFastAndBounded(r: Measured): void {
  expect(r.elapsedMs, r.stderr).toBeLessThan(FAST_MS);
  expect(r.peakRss).toBeLessThan(RSS_BOUND);
  expect(r.stderr.trim().split('\n'), 'one error line').toHaveLength(1);
}

test('regression: a child manifest declared as 2^53−1 bytes that never ends fails before any byte is read', async () => {
  const child = sha('endless child');
  indexNaming(child, Number.MAX_SAFE_INTEGER);
  reg.routes.set(manifestPath(child), (_req, res) => {
    res.writeHead(200, { 'content-type': MT.ociManifest });
    endless(reg, res, '{"schemaVersion":2,"layers":["');
  });
  const r = await run(['pull', '--plain-http', `${reg.host}/hostile/app:v1`]);
  expect(r.code).toBe(9);
  expect(r.stderr).toBe(`dist: manifest ${reg.host}/hostile/app@${child}: declared size ${Number.MAX_SAFE_INTEGER} bytes is over the ${LIMIT}-byte limit for manifests\n`);
  expect(reg.log).not.toContain(`GET ${manifestPath(child)}`);
  console.log(`hostile 2^53−1 child manifest: failed after ${Math.round(r.elapsedMs)} ms, peak RSS ${(r.peakRss / MiB).toFixed(1)} MiB`);
  expectFastAndBounded(r);
});

test('a child manifest that streams past its declared size is cut at that size', async () => {
  const child = sha('liar child');
  indexNaming(child, 1000);
  reg.routes.set(manifestPath(child), (_req, res) => {
    res.writeHead(200, { 'content-type': MT.ociManifest });
    endless(reg, res);
  });
  const r = await run(['pull', '--plain-http', `${reg.host}/hostile/app:v1`]);
  expect(r.code).toBe(9);
  expect(r.stderr).toMatch(new RegExp(`manifest .*@${child}: body is larger than the declared 1000 bytes`));
  expectFastAndBounded(r);
});

test('a manifest fetched by tag that streams forever is cut at the 4 MiB limit (pull and fetch)', async () => {
  reg.routes.set(manifestPath('v1'), (_req, res) => {
    res.writeHead(200, { 'content-type': MT.ociManifest });
    endless(reg, res);
  });
  for (const args of [['pull', '--plain-http', `${reg.host}/hostile/app:v1`], ['fetch', '--plain-http', `${reg.host}/hostile/app`, 'v1']]) {
    const r = await run(args);
    expect(r.code, args[0]).toBe(9);
    expect(r.stderr).toMatch(new RegExp(`manifest ${reg.host}/hostile/app:v1: body is larger than the ${LIMIT}-byte limit for manifests`));
    expect(r.stdout).toBe('');
    expectFastAndBounded(r);
  }
});

test('a Content-Length over the limit fails without reading the body', async () => {
  reg.routes.set(manifestPath('v1'), (_req, res) => {
    res.writeHead(200, { 'content-type': MT.ociManifest, 'content-length': String(Number.MAX_SAFE_INTEGER) });
    endless(reg, res);
  });
  const r = await run(['pull', '--plain-http', `${reg.host}/hostile/app:v1`]);
  expect(r.code).toBe(9);
  expect(r.stderr).toMatch(new RegExp(`manifest ${reg.host}/hostile/app:v1: Content-Length ${Number.MAX_SAFE_INTEGER} is over the ${LIMIT}-byte limit`));
  expectFastAndBounded(r);
});

test('--all-platforms: children declaring more than the in-memory budget in total fail before any is fetched', async () => {
  const children = Array.from({ length: 40 }, (_, i) => sha(`child ${i}`));
  reg.routes.set(manifestPath('v1'), (_req, res) =>
    json(res, 200, {
      schemaVersion: 2,
      mediaType: MT.ociIndex,
      manifests: children.map((digest, i) => ({ mediaType: MT.ociManifest, digest, size: LIMIT, platform: { os: 'linux', architecture: `arch${i}` } })),
    }, MT.ociIndex),
  );
  const r = await run(['pull', '--plain-http', '--all-platforms', `${reg.host}/hostile/app:v1`]);
  expect(r.code).toBe(9);
  expect(r.stderr).toMatch(/40 manifests declare \d+ bytes in total, over the \d+-byte limit/);
  expect(reg.log.filter((l) => l.includes('/manifests/sha256:'))).toEqual([]);
  expectFastAndBounded(r);
});

test('a manifest that drips a byte at a time fails at the document time limit', async () => {
  reg.routes.set(manifestPath('v1'), (_req, res) => {
    res.writeHead(200, { 'content-type': MT.ociManifest });
    drip(reg, res, 50, '{');
  });
  const r = await run(['pull', '--plain-http', `${reg.host}/hostile/app:v1`], { DIST_DOCUMENT_TIMEOUT_MS: '1500' });
  expect(r.code).toBe(5);
  expect(r.stderr).toMatch(new RegExp(`manifest ${reg.host}/hostile/app:v1: body not complete after 1500 ms`));
  expect(r.elapsedMs).toBeGreaterThanOrEqual(1400);
  expectFastAndBounded(r);
});

test('error bodies that never end: the status is reported at once (404, 400, 401 with a challenge)', async () => {
  const cases: Array<[number, Record<string, string>, number, RegExp]> = [
    [404, {}, 3, /manifest .*hostile\/app:v1: not found/],
    [400, {}, 7, /manifest .*hostile\/app:v1: HTTP 400/],
    [401, { 'www-authenticate': 'Basic realm="hostile"' }, 6, /manifest .*hostile\/app:v1: unauthorized/],
  ];
  for (const [status, headers, code, message] of cases) {
    reg.routes.set(manifestPath('v1'), (_req, res) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      endless(reg, res, '{"errors":[{"code":"X","message":"');
    });
    const r = await run(['pull', '--plain-http', `${reg.host}/hostile/app:v1`], { DOCKER_CONFIG: join(tmp, 'none') });
    expect(r.code, `HTTP ${status}: ${r.stderr}`).toBe(code);
    expect(r.stderr).toMatch(message);
    expectFastAndBounded(r);
  }
});

test('token responses: an endless one is capped, a non-JSON one is a clear error', async () => {
  reg.routes.set(manifestPath('v1'), (_req, res) => {
    res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${reg.host}/token",service="hostile"`, 'content-length': '0' });
    res.end();
  });
  reg.routes.set('/token', (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    endless(reg, res, '{"token":"');
  });
  const env = { DOCKER_CONFIG: join(tmp, 'none') };
  const big = await run(['pull', '--plain-http', `${reg.host}/hostile/app:v1`], env);
  expect(big.code).toBe(5);
  expect(big.stderr).toMatch(new RegExp(`token server http://${reg.host}: body is larger than the ${1 << 20}-byte limit for token responses`));
  expectFastAndBounded(big);

  reg.routes.set('/token', (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<html>login</html>');
  });
  const html = await run(['pull', '--plain-http', `${reg.host}/hostile/app:v1`], env);
  expect(html.code).toBe(5);
  expect(html.stderr).toMatch(new RegExp(`token server http://${reg.host}: answer is not a JSON object`));
  expectFastAndBounded(html);
});
