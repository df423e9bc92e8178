/**
 * Starts a real registry (Debian `docker-registry`, via scripts/registry.sh) on 127.0.0.1
 * with its own temp storage. A missing binary or a registry that never answers throws:
 * registry tests fail rather than skip — a missing binary with one line saying how to get
 * it, before anything is created (so the files' cleanups have nothing to trip over).
 * Plain module (no vitest) so bench/ can use it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, found from this file whether it runs from test/ or dist/test/. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'scripts', 'registry.sh'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the repository root (package.json + scripts/registry.sh)');
    dir = up;
  }
  return dir;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface RegistryOptions {
  /** bcrypt htpasswd file → Basic auth. */
  htpasswd?: string;
  /** Bearer token auth. */
  token?: { realm: string; service: string; issuer: string; rootCert: string };
  /** Serve HTTPS with this PEM certificate and key. */
  tls?: { cert: string; key: string };
}

export interface Registry {
  host: string;
  port: number;
  workdir: string;
  stop(): Promise<void>;
}

/** Throws the one clear error when `docker-registry` is not on PATH. */
export function requireRegistryBinary(): void {
  const found = (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir || '.', 'docker-registry'), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
  if (!found) throw new Error('docker-registry not found: run scripts/test-setup.sh (npm test does)');
}

export async function startRegistry(options: RegistryOptions = {}): Promise<Registry> {
  requireRegistryBinary();
  const workdir = await mkdtemp(join(tmpdir(), 'ck-registry-'));
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (options.htpasswd) env.REGISTRY_HTPASSWD = options.htpasswd;
  if (options.token) {
    env.REGISTRY_TOKEN_REALM = options.token.realm;
    env.REGISTRY_TOKEN_SERVICE = options.token.service;
    env.REGISTRY_TOKEN_ISSUER = options.token.issuer;
    env.REGISTRY_TOKEN_ROOTCERT = options.token.rootCert;
  }
  if (options.tls) {
    env.REGISTRY_TLS_CERT = options.tls.cert;
    env.REGISTRY_TLS_KEY = options.tls.key;
  }
  for (let tries = 0; ; tries++) {
    const port = await freePort();
    const child = spawn(join(repoRoot(), 'scripts', 'registry.sh'), [String(port), workdir], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const ready = await waitReady(port, exited, options.tls && readFileSync(options.tls.cert));
    if (ready === true) {
      return {
        host: `127.0.0.1:${port}`,
        port,
        workdir,
        stop: async () => {
          await stopChild(child, exited);
          await rm(workdir, { recursive: true, force: true });
        },
      };
    }
    await stopChild(child, exited);
    // A port taken between freePort() and bind is worth another try; anything else is fatal.
    if (tries < 3 && /address already in use/.test(stderr)) continue;
    await rm(workdir, { recursive: true, force: true });
    throw new Error(`docker-registry did not start (exit ${ready}): ${stderr.trim() || 'no output'}`);
  }
}

async function stopChild(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(t);
}

/** true once GET /v2/ answers (200 or 401); else the exit code of a registry that died. */
async function waitReady(port: number, exited: Promise<number | null>, ca?: Buffer): Promise<true | number | null> {
  let dead: number | null | undefined;
  void exited.then((c) => (dead = c));
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (dead !== undefined) return dead;
    const status = await new Promise<number>((resolve) => {
      const req = (ca ? https : http).get({ host: '127.0.0.1', port, path: '/v2/', ...(ca ? { ca } : {}) }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', () => resolve(0)); // not listening yet
    });
    if (status === 200 || status === 401) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return dead ?? -1;
}
