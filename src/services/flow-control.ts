/**
 * HTTP/2 flow-control windows for the server. grpc-js keeps Node's defaults (64 KiB per
 * stream and per connection) and has no server option for them: a client then sends a
 * 1 MiB Write in 16 window-sized steps, each waiting for the server's event loop to grant
 * the next (measured: `ctr content ingest` of 256 MiB took 6 s, against 3.6 s for
 * containerd). Larger windows let a whole chunk travel at once; memory stays bounded by
 * the window times the streams in flight, and by grpc-js's message size limit.
 *
 * grpc-js 1.x builds its HTTP/2 server from `commonServerOptions` in `createHttp2Server`;
 * both are internal, so this adjusts them only when they are there (a later grpc-js without
 * them serves at Node's default windows, correctly but slower).
 */
import type { Http2Server, Http2Session, Settings } from 'node:http2';
import type { Server } from '@grpc/grpc-js';

/** Per stream: a few of the largest chunks clients send (containerd's: 1 MiB). */
export const STREAM_WINDOW = 8 << 20;
/** Per connection: several streams' worth. */
export const CONNECTION_WINDOW = 32 << 20;

interface Internals {
  commonServerOptions?: { settings?: Settings };
  createHttp2Server?: (credentials: unknown) => Http2Server;
}

export function widenWindows(server: Server): boolean {
  const s = server as unknown as Internals;
  if (typeof s.createHttp2Server !== 'function' || typeof s.commonServerOptions !== 'object') return false;
  s.commonServerOptions.settings = { ...s.commonServerOptions.settings, initialWindowSize: STREAM_WINDOW };
  const create = s.createHttp2Server.bind(server);
  s.createHttp2Server = (credentials) => {
    const h2 = create(credentials);
    h2.on('session', (session: Http2Session) => {
      try {
        session.setLocalWindowSize(CONNECTION_WINDOW);
      } catch {
        // a session that closed at once: nothing to widen
      }
    });
    return h2;
  };
  return true;
}
