/**
 * Server addresses, as `dist serve --address` and `dist --address` take them:
 *   unix:///run/dist.sock   a Unix socket (absolute path); a bare absolute path means the same
 *   unix:relative.sock      a Unix socket relative to the working directory
 *   127.0.0.1:PORT          TCP on the loopback (port 0 picks a free port when serving)
 *   [::1]:PORT, localhost:PORT
 * TCP carries no authentication: serving on anything but the loopback is refused, since
 * every client could then write and delete content as the server's user.
 */
import { isAbsolute, resolve } from 'node:path';
import { invalidArgument } from '../errors.js';

export type Address = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

function bad(address: string, why: string) {
  return invalidArgument('ERR_INVALID_ADDRESS', `invalid server address ${JSON.stringify(address)}: ${why}`, { actual: address });
}

export function parseAddress(address: string): Address {
  if (typeof address !== 'string' || address === '') throw bad(String(address), 'empty');
  if (address.startsWith('unix://')) {
    const path = address.slice('unix://'.length);
    if (!isAbsolute(path)) throw bad(address, 'unix:// needs an absolute path (unix:///run/dist.sock), or use unix:relative.sock');
    return { kind: 'unix', path };
  }
  if (address.startsWith('unix:')) {
    const path = address.slice('unix:'.length);
    if (!path) throw bad(address, 'no socket path');
    return { kind: 'unix', path: resolve(path) };
  }
  if (isAbsolute(address)) return { kind: 'unix', path: address };
  const m = /^(\[[0-9a-fA-F:]+\]|[^:[\]]+):(\d{1,5})$/.exec(address);
  if (!m) throw bad(address, 'expected unix:///path.sock, /path.sock or HOST:PORT');
  const port = Number(m[2]);
  if (port > 65535) throw bad(address, `port ${port} is out of range`);
  return { kind: 'tcp', host: m[1]!, port };
}

/** A listening address must be a socket or the loopback (see the header). */
export function checkListenAddress(a: Address, text: string): void {
  if (a.kind === 'tcp' && !LOOPBACK.has(a.host)) {
    throw bad(text, `serving TCP on ${a.host} would let anyone who can reach it write and delete content: use a Unix socket or the loopback (127.0.0.1)`);
  }
}

/** The target string grpc-js understands for `a`. */
export function grpcTarget(a: Address): string {
  return a.kind === 'unix' ? `unix://${a.path}` : `${a.host}:${a.port}`;
}

/** How `a` is shown to people (and accepted back by parseAddress). */
export function formatAddress(a: Address): string {
  return a.kind === 'unix' ? `unix://${a.path}` : `${a.host}:${a.port}`;
}
