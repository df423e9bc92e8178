/**
 * Registry transport security and auth against the real registry: HTTPS by default (and
 * --plain-http refused by a TLS registry); Basic (htpasswd) from --user and from
 * ~/.docker/config.json `auths`; the Bearer token flow with a token server (challenge →
 * token per scope, cached: one token request for a whole pull).
 */
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { dist, expectOk } from './helpers/cli.js';
import { image, layer, type Image } from './helpers/image.js';
import { pushImage } from './helpers/push.js';
import { startRegistry, type Registry } from './helpers/registry.js';
import { hasBlob, refNames, verifyAllBlobs } from './helpers/store-check.js';
import { htpasswd, selfSignedCert, startTokenServer, type TokenServer } from './helpers/token-server.js';

let tmp: string;
let img: Image;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'ck-auth-'));
  img = image([await layer([{ name: 'a.bin', size: 2 << 20, seed: 'auth-a' }]), await layer([{ name: 'b.bin', size: 1 << 20, seed: 'auth-b' }])]);
});
afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('HTTPS', () => {
  let reg: Registry;
  let cert: string;
  beforeAll(async () => {
    const tls = selfSignedCert(tmp);
    cert = tls.cert;
    reg = await startRegistry({ tls });
    await pushImage({ host: reg.host, ca: readFileSync(cert) }, 'auth/img', 'v1', img);
  });
  afterAll(() => reg?.stop());

  test('https:// is the default; an untrusted certificate is refused', async () => {
    const root = await mkdtemp(join(tmp, 'tls-'));
    const name = `${reg.host}/auth/img:v1`;
    const untrusted = await dist(['pull', name], { root });
    expect(untrusted.code).toBe(5);
    expect(untrusted.stderr).toMatch(/certificate/);
    const plain = await dist(['pull', '--plain-http', name], { root });
    expect(plain.code).not.toBe(0);
    const trusted = await dist(['pull', name], { root, env: { NODE_EXTRA_CA_CERTS: cert } });
    expectOk(trusted);
    expect(await verifyAllBlobs(root)).toMatchObject({ count: 4, bad: [] });
  });
});

const basic = (u: string, p: string) => ({ authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}` });

describe('Basic auth (htpasswd)', () => {
  let reg: Registry;
  beforeAll(async () => {
    reg = await startRegistry({ htpasswd: htpasswd(tmp, 'alice', 's3cret') });
    await pushImage({ host: reg.host, headers: () => basic('alice', 's3cret') }, 'auth/img', 'v1', img);
  });
  afterAll(() => reg?.stop());

  test('anonymous and wrong credentials are refused (exit 6); --user works', async () => {
    const root = await mkdtemp(join(tmp, 'basic-'));
    const name = `${reg.host}/auth/img:v1`;
    const env = { DOCKER_CONFIG: join(tmp, 'no-docker-config') };
    const anon = await dist(['pull', '--plain-http', name], { root, env });
    expect(anon.code).toBe(6);
    expect(anon.stderr).toMatch(/unauthorized/);
    const wrong = await dist(['pull', '--plain-http', '--user', 'alice:nope', name], { root, env });
    expect(wrong.code).toBe(6);
    const ok = await dist(['pull', '--plain-http', '--user', 'alice:s3cret', name], { root, env });
    expectOk(ok);
    expect(refNames(root)[name]).toBe(img.manifest.digest);
    expect(await verifyAllBlobs(root)).toMatchObject({ count: 4, bad: [] });
  });

  test('credentials from ~/.docker/config.json auths', async () => {
    const home = join(tmp, 'home');
    await mkdir(join(home, '.docker'), { recursive: true });
    const auth = Buffer.from('alice:s3cret').toString('base64');
    await writeFile(join(home, '.docker', 'config.json'), JSON.stringify({ auths: { [reg.host]: { auth } } }));
    const root = await mkdtemp(join(tmp, 'cfg-'));
    // DOCKER_CONFIG unset: the file is found through HOME.
    const r = await dist(['pull', '--plain-http', `${reg.host}/auth/img:v1`], { root, env: { HOME: home, DOCKER_CONFIG: undefined } });
    expectOk(r);
    const f = await dist(['fetch', '--plain-http', `${reg.host}/auth/img`, 'v1'], { root, env: { HOME: home, DOCKER_CONFIG: undefined } });
    expect(f.stdout.equals(img.manifest.bytes)).toBe(true);
  });
});

describe('Bearer token flow', () => {
  let reg: Registry;
  let tokens: TokenServer;
  beforeAll(async () => {
    tokens = await startTokenServer({ bob: 'hunter2' });
    reg = await startRegistry({ token: { realm: tokens.realm, service: tokens.service, issuer: tokens.issuer, rootCert: tokens.rootCert } });
    await pushImage({ host: reg.host, headers: (repo) => ({ authorization: `Bearer ${tokens.mint(repo, ['pull', 'push'])}` }) }, 'auth/img', 'v1', img);
  });
  afterAll(async () => {
    await reg?.stop();
    await tokens?.close();
  });

  test('challenge → token for the repository scope, one token request per pull', async () => {
    const root = await mkdtemp(join(tmp, 'bearer-'));
    const name = `${reg.host}/auth/img:v1`;
    const env = { DOCKER_CONFIG: join(tmp, 'no-docker-config') };
    const before = tokens.requests.length;
    const r = await dist(['pull', '--plain-http', '--user', 'bob:hunter2', name], { root, env });
    expectOk(r);
    const made = tokens.requests.slice(before);
    expect(made).toEqual([{ scope: 'repository:auth/img:pull', user: 'bob', status: 200 }]);
    expect(hasBlob(root, img.layers[0]!.digest)).toBe(true);
    expect(await verifyAllBlobs(root)).toMatchObject({ count: 4, bad: [] });
  });

  test('the token server refusing credentials is a clear error (exit 6)', async () => {
    const root = await mkdtemp(join(tmp, 'bearer-bad-'));
    const env = { DOCKER_CONFIG: join(tmp, 'no-docker-config') };
    const bad = await dist(['pull', '--plain-http', '--user', 'bob:wrong', `${reg.host}/auth/img:v1`], { root, env });
    expect(bad.code).toBe(6);
    expect(bad.stderr).toMatch(/token server .* refused user bob/);
    const anon = await dist(['pull', '--plain-http', `${reg.host}/auth/img:v1`], { root, env });
    expect(anon.code).toBe(6);
  });
});

describe('Bearer realm on a weaker scheme than the registry', () => {
  let reg: Registry;
  let tokens: TokenServer;
  let cert: string;
  beforeAll(async () => {
    // An https registry whose challenge names the token server's http:// realm.
    tokens = await startTokenServer({ bob: 'hunter2' });
    const tls = selfSignedCert(await mkdtemp(join(tmp, 'downgrade-tls-')));
    cert = tls.cert;
    reg = await startRegistry({ tls, token: { realm: tokens.realm, service: tokens.service, issuer: tokens.issuer, rootCert: tokens.rootCert } });
    await pushImage({ host: reg.host, ca: readFileSync(cert), headers: (repo) => ({ authorization: `Bearer ${tokens.mint(repo, ['pull', 'push'])}` }) }, 'auth/img', 'v1', img);
  });
  afterAll(async () => {
    await reg?.stop();
    await tokens?.close();
  });

  test('credentials are never sent to an http:// realm named by an https:// registry (exit 6, nothing sent)', async () => {
    const root = await mkdtemp(join(tmp, 'downgrade-'));
    const env = { DOCKER_CONFIG: join(tmp, 'no-docker-config'), NODE_EXTRA_CA_CERTS: cert };
    expect(tokens.realm).toMatch(/^http:\/\//);
    const before = tokens.requests.length;
    const r = await dist(['pull', '--user', 'bob:hunter2', `${reg.host}/auth/img:v1`], { root, env });
    expect(r.code).toBe(6);
    expect(r.stderr).toBe(`dist: registry https://${reg.host} names token realm ${tokens.realm} over plain http: refusing to send the credentials of user bob there\n`);
    expect(tokens.requests.slice(before)).toEqual([]);
    // Anonymous token requests carry nothing to leak: they go out, without credentials.
    const anon = await dist(['pull', `${reg.host}/auth/img:v1`], { root, env });
    expect(anon.code).toBe(6);
    expect(anon.stderr).toMatch(/token server .* refused anonymous access/);
    expect(tokens.requests.slice(before)).toEqual([{ scope: 'repository:auth/img:pull', status: 401 }]);
  });
});
