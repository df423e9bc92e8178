/**
 * Where Basic credentials come from: `--user USER[:PASS]` first, else the `auths` section of
 * the Docker config ($DOCKER_CONFIG/config.json or ~/.docker/config.json). Credential
 * helpers (credsStore/credHelpers) are not run: executing programs named by a config file
 * is out of scope here.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { invalidArgument } from '../errors.js';
import { DOCKER_HUB } from './reference.js';

export interface Credentials {
  username: string;
  password: string;
}

/** `USER[:PASS]`; a missing password is the empty string (the caller may prompt). */
export function parseUser(text: string): Credentials {
  const i = text.indexOf(':');
  const username = i < 0 ? text : text.slice(0, i);
  if (!username) throw invalidArgument('ERR_INVALID_USER', '--user needs USER[:PASS]', {});
  return { username, password: i < 0 ? '' : text.slice(i + 1) };
}

function configPath(): string {
  return join(process.env.DOCKER_CONFIG ?? join(homedir(), '.docker'), 'config.json');
}

/** Keys `auths` may use for a host: bare, with scheme, and Docker Hub's legacy v1 URL. */
function candidates(host: string): string[] {
  const keys = [host, `https://${host}`, `http://${host}`, `https://${host}/v1/`, `https://${host}/v2/`];
  if (host === DOCKER_HUB) keys.push('https://index.docker.io/v1/', 'index.docker.io', 'registry-1.docker.io');
  return keys;
}

/** A Docker config is a few KiB; one larger than this is treated as unreadable. */
const MAX_CONFIG = 1 << 20;

function readCapped(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(MAX_CONFIG + 1);
    let n = 0;
    for (let r; n < buf.length && (r = readSync(fd, buf, n, buf.length - n, n)) > 0; ) n += r;
    if (n > MAX_CONFIG) throw new RangeError(`${path} is over ${MAX_CONFIG} bytes`);
    return buf.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** Credentials for `host` from the Docker config, or undefined (missing/unreadable/oversized file = none). */
export function dockerConfigCredentials(host: string, path = configPath()): Credentials | undefined {
  let cfg: { auths?: Record<string, { auth?: unknown; username?: unknown; password?: unknown } | null> } | null;
  try {
    cfg = JSON.parse(readCapped(path));
  } catch {
    return undefined;
  }
  const auths = typeof cfg?.auths === 'object' && cfg.auths !== null ? cfg.auths : {};
  for (const key of candidates(host)) {
    const entry = auths[key];
    if (typeof entry !== 'object' || entry === null) continue;
    if (typeof entry.username === 'string' && entry.username && typeof entry.password === 'string') return { username: entry.username, password: entry.password };
    if (typeof entry.auth === 'string' && entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const i = decoded.indexOf(':');
      if (i > 0) return { username: decoded.slice(0, i), password: decoded.slice(i + 1) };
    }
  }
  return undefined;
}

export function basicHeader(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`, 'utf8').toString('base64')}`;
}
