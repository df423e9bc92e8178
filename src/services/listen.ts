/**
 * Taking a listening address. A Unix socket path is claimed under a guard lock (`PATH.lock`,
 * proper-lockfile), so two servers starting at once cannot both decide a socket is stale
 * and unlink each other's: under the guard, an existing socket that accepts a connection
 * belongs to a live server (Unavailable, ERR_ADDRESS_IN_USE); one that refuses is a dead
 * server's leftover and is replaced; anything else at the path (a file, a directory) is
 * never removed (FailedPrecondition). The socket is made 0660 (the umask is narrowed while
 * binding): its owner and group may connect, nobody else.
 */
import { lstat, mkdir, unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import type { Server } from '@grpc/grpc-js';
import lockfile from 'proper-lockfile';
import { failedPrecondition, unavailable, wrapSystemError } from '../errors.js';
import { formatAddress, grpcTarget, type Address } from './address.js';

/** Whether something accepts connections on the socket at `path`. */
function live(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ path });
    const done = (v: boolean) => {
      clearTimeout(timer);
      s.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(true), 2000); // a server too busy to accept is still alive
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

function inUse(text: string) {
  return unavailable('ERR_ADDRESS_IN_USE', `${text} is in use by a live server (stop it, or serve on another address)`, { address: text });
}

function bind(server: Server, target: string, creds: unknown): Promise<number> {
  return new Promise((resolve, reject) => server.bindAsync(target, creds as never, (err, port) => (err ? reject(err) : resolve(port))));
}

/** Binds `server` to `a`; returns the address as bound (the real port for port 0). */
export async function listen(server: Server, a: Address, creds: unknown): Promise<Address> {
  const text = formatAddress(a);
  if (a.kind === 'tcp') {
    try {
      return { ...a, port: await bind(server, grpcTarget(a), creds) };
    } catch (err) {
      if (/EADDRINUSE|address already in use/i.test(String((err as Error)?.message))) throw inUse(text);
      throw wrapSystemError(err, `listening on ${text}`);
    }
  }
  await mkdir(dirname(a.path), { recursive: true, mode: 0o711 });
  let release: (() => Promise<void>) | undefined;
  try {
    release = await lockfile.lock(a.path, { realpath: false, lockfilePath: `${a.path}.lock`, stale: 10_000, retries: { retries: 50, minTimeout: 20, maxTimeout: 200 } });
  } catch (err) {
    throw wrapSystemError(err, `claiming ${text}`, { path: a.path });
  }
  try {
    const st = await lstat(a.path).catch(() => undefined);
    if (st && !st.isSocket()) throw failedPrecondition('ERR_ADDRESS_NOT_SOCKET', `${a.path} exists and is not a socket: not replaced`, { path: a.path });
    if (st) {
      if (await live(a.path)) throw inUse(text);
      await unlink(a.path).catch(() => {}); // a dead server's socket
    }
    const umask = process.umask(0o117);
    try {
      await bind(server, grpcTarget(a), creds);
    } catch (err) {
      throw wrapSystemError(err, `listening on ${text}`, { path: a.path });
    } finally {
      process.umask(umask);
    }
    return a;
  } finally {
    await release().catch(() => {});
  }
}
