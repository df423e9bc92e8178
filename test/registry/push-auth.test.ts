/**
 * Push against registries that require auth: the Bearer flow asks the token server for the
 * push scope (`pull,push`, once per push, cached) and, for a mount, for pull on the source
 * repository too; Basic credentials from --user and from ~/.docker/config.json, as for pull.
 * Refusals are one clear line with pull's exit code for them, 6 (FailedPrecondition: the
 * credentials are what must change, not a transient outage).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { dist, expectOk } from './helpers/cli.js';
import { image, layer, type Image } from './helpers/image.js';
import { pushImage } from './helpers/push.js';
import { startRegistry, type Registry } from './helpers/registry.js';
import { htpasswd, startTokenServer, type TokenServer } from './helpers/token-server.js';

let tmp: string;
let src: Registry;
let rootA: string;
let img: Image;
let name: string;
const noConfig = () => ({ DOCKER_CONFIG: join(tmp, 'no-docker-config') });

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'ck-push-auth-'));
  src = await startRegistry();
  img = image([await layer([{ name: 'a.bin', size: 6 << 20, seed: 'push-auth-a' }]), await layer([{ name: 'b.bin', size: 1 << 20, seed: 'push-auth-b' }])]);
  await pushImage({ host: src.host }, 'auth/src', 'v1', img);
  name = `${src.host}/auth/src:v1`;
  rootA = await mkdtemp(join(tmp, 'root-'));
  expectOk(await dist(['pull', '--plain-http', name], { root: rootA }));
});

afterAll(async () => {
  await src?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('Bearer token flow', () => {
  let reg: Registry;
  let tokens: TokenServer;
  beforeAll(async () => {
    tokens = await startTokenServer({ bob: 'hunter2', carol: 'reader' }, { pullOnly: ['carol'] });
    reg = await startRegistry({ token: { realm: tokens.realm, service: tokens.service, issuer: tokens.issuer, rootCert: tokens.rootCert } });
  });
  afterAll(async () => {
    await reg?.stop();
    await tokens?.close();
  });

  test('one token for the push scope (pull,push), cached for the whole push; host B pulls it back', async () => {
    const before = tokens.requests.length;
    const r = await dist(['push', '--plain-http', '--user', 'bob:hunter2', name, `${reg.host}/auth/push:v1`], { root: rootA, env: noConfig() });
    expectOk(r);
    expect(tokens.requests.slice(before)).toEqual([{ scope: 'repository:auth/push:pull,push', user: 'bob', status: 200 }]);
    const rootB = await mkdtemp(join(tmp, 'hostB-'));
    expectOk(await dist(['pull', '--plain-http', '--user', 'bob:hunter2', `${reg.host}/auth/push:v1`], { root: rootB, env: noConfig() }));
  });

  test('a mount asks for pull on the source repository as well, and moves nothing', async () => {
    const before = tokens.requests.length;
    const r = await dist(['push', '--plain-http', '--user', 'bob:hunter2', name, `${reg.host}/auth/mounted:v1`], { root: rootA, env: noConfig() });
    expectOk(r);
    expect(r.stdout.toString()).toMatch(/0B uploaded, 3 mounted/);
    const scopes = tokens.requests.slice(before).map((t) => t.scope);
    expect(scopes).toContain('repository:auth/mounted:pull,push repository:auth/push:pull');
    expect(scopes[0]).toBe('repository:auth/mounted:pull,push');
  });

  test('refused credentials: one clear line, exit 6 (as pull)', async () => {
    const bad = await dist(['push', '--plain-http', '--user', 'bob:wrong', name, `${reg.host}/auth/refused:v1`], { root: rootA, env: noConfig() });
    expect(bad.code).toBe(6);
    expect(bad.stderr).toMatch(/^dist: token server http:\/\/127\.0\.0\.1:\d+ refused user bob \(HTTP 401\)\n$/);
    const anon = await dist(['push', '--plain-http', name, `${reg.host}/auth/refused:v1`], { root: rootA, env: noConfig() });
    expect(anon.code).toBe(6);
    expect(anon.stderr).toMatch(/refused anonymous access/);
  });

  test('a user the token server lets pull but not push: unauthorized, exit 6, nothing tagged', async () => {
    const r = await dist(['push', '--plain-http', '--user', 'carol:reader', name, `${reg.host}/auth/readonly:v1`], { root: rootA, env: noConfig() });
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(new RegExp(`^dist: blob ${reg.host.replace(/\./g, '\\.')}/auth/readonly@sha256:[0-9a-f]{64}: start upload: unauthorized: UNAUTHORIZED .*\\(credentials: --user or ~/\\.docker/config\\.json\\)\\n$`));
    // The blobs are known to be in auth/push and auth/mounted: a mount is tried first (with pull
    // on the source), refused, then a plain upload — refused too.
    const asked = tokens.requests.filter((t) => t.user === 'carol');
    expect(asked.length).toBeGreaterThan(0);
    for (const t of asked) expect(t.scope?.split(' ')[0]).toBe('repository:auth/readonly:pull,push');
    expect(asked.some((t) => t.scope === 'repository:auth/readonly:pull,push')).toBe(true);
    const tag = await dist(['fetch', '--plain-http', '--user', 'bob:hunter2', `${reg.host}/auth/readonly`, 'v1'], { root: rootA, env: noConfig() });
    expect(tag.code).toBe(3);
  });
});

const basic = (u: string, p: string) => ({ authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}` });

describe('Basic auth (htpasswd)', () => {
  let reg: Registry;
  beforeAll(async () => {
    reg = await startRegistry({ htpasswd: htpasswd(tmp, 'alice', 's3cret') });
    // Something to find in the registry first, so the HEAD checks see a real 200 too.
    await pushImage({ host: reg.host, headers: () => basic('alice', 's3cret') }, 'auth/seed', 'v1', img);
  });
  afterAll(() => reg?.stop());

  test('anonymous and wrong credentials are refused (exit 6); --user works', async () => {
    const to = `${reg.host}/auth/basic:v1`;
    const anon = await dist(['push', '--plain-http', name, to], { root: rootA, env: noConfig() });
    expect(anon.code).toBe(6);
    expect(anon.stderr).toMatch(/unauthorized/);
    const wrong = await dist(['push', '--plain-http', '--user', 'alice:nope', name, to], { root: rootA, env: noConfig() });
    expect(wrong.code).toBe(6);
    const ok = await dist(['push', '--plain-http', '--user', 'alice:s3cret', name, to], { root: rootA, env: noConfig() });
    expectOk(ok);
  });

  test('credentials from ~/.docker/config.json auths', async () => {
    const home = join(tmp, 'home');
    await mkdir(join(home, '.docker'), { recursive: true });
    await writeFile(join(home, '.docker', 'config.json'), JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from('alice:s3cret').toString('base64') } } }));
    const r = await dist(['push', '--plain-http', name, `${reg.host}/auth/config:v1`], { root: rootA, env: { HOME: home, DOCKER_CONFIG: undefined } });
    expectOk(r);
  });
});
