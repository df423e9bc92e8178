/**
 * A small Bearer token server for the registry's `auth: token` mode: RS256 JWTs carrying
 * an x5c chain with a self-signed certificate (made with openssl) that the registry trusts
 * through `rootcertbundle`. Grants the requested actions to anyone with the right Basic
 * credentials (or to anyone, when no users are configured) — only `pull` to the users named
 * in `pullOnly`. Counts token requests.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes, sign } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TokenServer {
  realm: string;
  service: string;
  issuer: string;
  rootCert: string;
  /** Token requests served (any outcome). */
  requests: Array<{ scope?: string; user?: string; status: number }>;
  /** A token for pushing from test code. */
  mint(repository: string, actions: string[]): string;
  close(): Promise<void>;
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

export async function startTokenServer(users: Record<string, string> = {}, o: { pullOnly?: string[] } = {}): Promise<TokenServer> {
  const dir = await mkdtemp(join(tmpdir(), 'ck-token-'));
  const key = join(dir, 'key.pem');
  const rootCert = join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', rootCert, '-days', '2', '-subj', '/CN=containerkit-test-token'], {
    stdio: 'ignore',
  });
  const keyPem = readFileSync(key, 'utf8');
  const der = readFileSync(rootCert, 'utf8').replace(/-----[^-]+-----|\s/g, '');
  const service = 'containerkit-registry';
  const issuer = 'containerkit-test-issuer';

  const mint = (access: Array<{ type: string; name: string; actions: string[] }>, sub: string) => {
    const now = Math.floor(Date.now() / 1000);
    const head = b64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', x5c: [der] }));
    const claims = b64url(JSON.stringify({ iss: issuer, sub, aud: service, exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access }));
    const sig = sign('sha256', Buffer.from(`${head}.${claims}`), keyPem);
    return `${head}.${claims}.${b64url(sig)}`;
  };

  const state = { requests: [] as TokenServer['requests'] };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const scope = url.searchParams.get('scope') ?? undefined;
    let user: string | undefined;
    const auth = req.headers.authorization;
    if (auth?.startsWith('Basic ')) {
      const [u, p] = Buffer.from(auth.slice(6), 'base64').toString('utf8').split(/:(.*)/s) as [string, string];
      if (users[u] !== p) {
        state.requests.push({ scope, user: u, status: 401 });
        res.writeHead(401, { 'content-type': 'application/json' });
        return res.end('{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}');
      }
      user = u;
    } else if (Object.keys(users).length > 0) {
      state.requests.push({ scope, status: 401 });
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Basic realm="token"' });
      return res.end('{"errors":[{"code":"UNAUTHORIZED","message":"credentials required"}]}');
    }
    const access = scope
      ? scope.split(' ').map((s) => {
          const [type, name, actions] = s.split(':') as [string, string, string];
          const allowed = user !== undefined && o.pullOnly?.includes(user) ? ['pull'] : ['pull', 'push'];
          return { type, name, actions: actions.split(',').filter((a) => allowed.includes(a)) };
        })
      : [];
    state.requests.push({ scope, user, status: 200 });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ token: mint(access, user ?? 'anonymous'), expires_in: 300, issued_at: new Date().toISOString() }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    rootCert,
    get requests() {
      return state.requests;
    },
    mint: (repository, actions) => mint([{ type: 'repository', name: repository, actions }], 'pusher'),
    close: async () => {
      await new Promise<void>((r) => server.close(() => r()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A self-signed certificate for 127.0.0.1 (HTTPS registry tests). */
export function selfSignedCert(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'tls.crt');
  const key = join(dir, 'tls.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], {
    stdio: 'ignore',
  });
  return { cert, key };
}

/** A bcrypt htpasswd file (the registry accepts only bcrypt), made with apache2-utils. */
export function htpasswd(dir: string, user: string, password: string): string {
  const file = join(dir, 'htpasswd');
  const line = execFileSync('htpasswd', ['-Bbn', user, password], { encoding: 'utf8' });
  writeFileSync(file, line);
  return file;
}
