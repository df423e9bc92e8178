/**
 * A hostile registry on 127.0.0.1: a plain node http server whose answers the test writes
 * per path (GET and HEAD alike). Helpers stream bodies that never end — as fast as the
 * client reads, or a few bytes at a time — and count what was sent, so a test can tell
 * whether the client read anything at all. close() ends every stream and socket.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export interface Hostile {
  host: string;
  /** Path (without query) → handler; unknown paths get 404. Mutable between tests. */
  routes: Map<string, Handler>;
  /** Paths requested, in order (`METHOD path`). */
  log: string[];
  /** Body bytes written by endless()/drip() so far. */
  sent: number;
  close(): Promise<void>;
}

export async function startHostile(): Promise<Hostile> {
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    state.log.push(`${req.method} ${path}`);
    const h = state.routes.get(path);
    if (h) return h(req, res);
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end('{"errors":[{"code":"NOT_FOUND","message":"no route"}]}');
  });
  const state: Hostile = {
    host: '',
    routes: new Map(),
    log: [],
    sent: 0,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  state.host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}

/**
 * Writes `prefix`, then filler forever, as fast as the client reads (back-pressure respected:
 * the server never buffers more than a socket's worth). Stops when the client goes away.
 */
export function endless(counter: { sent: number }, res: http.ServerResponse, prefix = ''): void {
  const chunk = Buffer.alloc(64 << 10, 0x20);
  let open = true;
  res.on('close', () => (open = false));
  const pump = () => {
    while (open) {
      counter.sent += chunk.length;
      if (!res.write(chunk)) return void res.once('drain', pump);
    }
  };
  if (prefix) res.write(prefix);
  pump();
}

/** Writes one byte every `everyMs` forever: never idle long enough for a socket timeout. */
export function drip(counter: { sent: number }, res: http.ServerResponse, everyMs: number, prefix = ''): void {
  if (prefix) res.write(prefix);
  const t = setInterval(() => {
    counter.sent += 1;
    res.write(' ');
  }, everyMs);
  res.on('close', () => clearInterval(t));
}
