/**
 * A fault-injecting HTTP proxy in front of the registry. It counts blob bytes (what a pull
 * actually moved) and, per its mutable options, strips Range, corrupts a byte, drops or
 * stalls a blob response mid-way, answers 503, or redirects blob GETs to a second URL
 * (like registries that send clients to blob storage).
 *
 * Uploads (request bodies sent to …/blobs/uploads/…) are counted too (`uploadBytes`: what a
 * push actually moved) and can be throttled, held at a byte count until `release()`, answered
 * 503 without reaching the registry, or cut off mid-body (the connection reset, so the
 * registry keeps the partial data, as after a crash). Upload Locations the registry writes
 * with its own address are rewritten to the proxy's, so a client stays behind the proxy.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface ProxyOptions {
  /** Remove Range from blob requests (the registry then answers 200 from byte 0). */
  stripRange?: boolean;
  /** Flip the byte at this position of every blob response body. */
  corruptAt?: number;
  /** Only blobs with this digest are corrupted (default all). */
  corruptDigest?: string;
  /** Destroy the connection once, after this many body bytes of the first blob response that long. */
  dropAfter?: number;
  /** Stop forwarding blob bodies after this many bytes in total (connection held open). */
  stallAfter?: number;
  /** Answer 503 to this many blob requests first. */
  fail503?: number;
  /** Answer ranged blob requests with a Content-Range that starts one byte late. */
  skewContentRange?: boolean;
  /** Redirect blob GETs (307) to /_storage/… on this proxy, which must not see Authorization. */
  redirectBlobs?: boolean;
  /** Hold every blob GET this long before forwarding it (a slow registry). */
  blobDelayMs?: number;
  /** Forward upload bodies at most this fast (bytes per second). */
  uploadRate?: number;
  /** Stop forwarding upload bodies once `uploadBytes` reaches this (connections held open) until release(). */
  holdUploadsAfter?: number;
  /** Answer 503 to this many upload PATCH/PUT requests first (nothing reaches the registry)… */
  failUploads503?: number;
  /** …only to this method… */
  failUploads503Method?: 'PATCH' | 'PUT';
  /** …after letting this many of them through. */
  failUploads503Skip?: number;
  /** Reset the connection after this many body bytes of an upload request… */
  resetUploadAfter?: number;
  /** …this many times (default 1). */
  resetUploads?: number;
}

export interface RequestLog {
  method: string;
  path: string;
  range?: string;
  authorization?: string;
  accept?: string;
  status?: number;
}

export interface Proxy {
  host: string;
  options: ProxyOptions;
  /** Blob body bytes sent to clients. */
  blobBytes: number;
  /** Upload body bytes forwarded to the registry. */
  uploadBytes: number;
  /**
   * Upload requests still open. A client killed while its upload was held still has bytes
   * in the proxy's socket buffers, forwarded (and counted) on release until this drops.
   */
  activeUploads: number;
  log: RequestLog[];
  /** Lets held uploads go on (and clears holdUploadsAfter). */
  release(): void;
  reset(): void;
  close(): Promise<void>;
}

export async function startProxy(target: string, initial: ProxyOptions = {}): Promise<Proxy> {
  const [thost, tport] = target.split(':') as [string, string];
  const sockets = new Set<Socket>();
  const stalled = new Set<http.ServerResponse>();
  const held: Array<() => void> = [];
  const state: Proxy = {
    host: '',
    options: { ...initial },
    blobBytes: 0,
    uploadBytes: 0,
    activeUploads: 0,
    log: [],
    release() {
      state.options.holdUploadsAfter = undefined;
      for (const go of held.splice(0)) go();
    },
    reset() {
      state.blobBytes = 0;
      state.uploadBytes = 0;
      state.log = [];
    },
    close: async () => {
      for (const r of stalled) r.destroy();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };

  const server = http.createServer((req, res) => {
    let path = req.url ?? '/';
    const o = state.options;
    const entry: RequestLog = { method: req.method ?? 'GET', path, range: req.headers.range, authorization: req.headers.authorization, accept: req.headers.accept };
    state.log.push(entry);
    const fromStorage = path.startsWith('/_storage/');
    if (fromStorage) path = path.slice('/_storage'.length);
    const isBlob = /\/blobs\/(sha256|sha512|blake3):/.test(path) && req.method === 'GET';
    if (isBlob && o.redirectBlobs && !fromStorage) {
      entry.status = 307;
      res.writeHead(307, { location: `http://${state.host}/_storage${path}`, 'content-length': '0' });
      return res.end();
    }
    if (isBlob && o.fail503 && o.fail503 > 0) {
      o.fail503--;
      entry.status = 503;
      res.writeHead(503, { 'content-type': 'text/plain' });
      return res.end('try later');
    }
    const isUpload = /\/blobs\/uploads\//.test(path) && (req.method === 'PATCH' || req.method === 'PUT' || req.method === 'POST');
    const failable = isUpload && (req.method === 'PATCH' || req.method === 'PUT') && (!o.failUploads503Method || o.failUploads503Method === req.method);
    if (failable && o.failUploads503 && o.failUploads503 > 0 && o.failUploads503Skip && o.failUploads503Skip > 0) o.failUploads503Skip--;
    else if (failable && o.failUploads503 && o.failUploads503 > 0) {
      o.failUploads503--;
      entry.status = 503;
      req.resume();
      res.writeHead(503, { 'content-type': 'application/json', connection: 'close' });
      return res.end('{"errors":[{"code":"UNAVAILABLE","message":"injected by the test proxy"}]}');
    }
    const headers = { ...req.headers, host: target };
    if (isBlob && o.stripRange) delete headers.range;
    if (isBlob && o.blobDelayMs) req.pause();
    const forward = () => {
    const up = http.request({ host: thost, port: Number(tport), method: req.method, path, headers }, (ures) => {
      entry.status = ures.statusCode;
      const loc = ures.headers.location;
      if (loc?.startsWith(`http://${target}/`)) ures.headers.location = `http://${state.host}/${loc.slice(`http://${target}/`.length)}`;
      const cr = ures.headers['content-range'];
      if (o.skewContentRange && cr) {
        ures.headers['content-range'] = cr.replace(/^bytes (\d+)/, (_, a: string) => `bytes ${Number(a) + 1}`);
      }
      res.writeHead(ures.statusCode ?? 502, ures.headers);
      if (!isBlob) return void ures.pipe(res);
      const digest = /\/blobs\/([^/?]+)/.exec(path)![1];
      let pos = 0;
      ures.on('data', (chunk: Buffer) => {
        let c = chunk;
        if (o.corruptAt !== undefined && (!o.corruptDigest || o.corruptDigest === digest) && o.corruptAt >= pos && o.corruptAt < pos + c.length) {
          c = Buffer.from(c);
          c[o.corruptAt - pos] ^= 0xff;
        }
        const dropAt = o.dropAfter;
        if (dropAt !== undefined && pos + c.length >= dropAt) {
          o.dropAfter = undefined; // once, in the first response that gets this far
          const part = c.subarray(0, Math.max(0, dropAt - pos));
          state.blobBytes += part.length;
          res.write(part, () => res.socket?.destroy());
          ures.destroy();
          return;
        }
        if (o.stallAfter !== undefined && state.blobBytes + c.length >= o.stallAfter) {
          const part = c.subarray(0, Math.max(0, o.stallAfter - state.blobBytes));
          state.blobBytes += part.length;
          if (part.length) res.write(part);
          stalled.add(res);
          ures.destroy();
          return;
        }
        pos += c.length;
        state.blobBytes += c.length;
        if (!res.write(c)) {
          ures.pause();
          res.once('drain', () => ures.resume());
        }
      });
      ures.on('end', () => res.end());
      ures.on('error', () => res.destroy());
    });
    up.on('error', () => res.destroy());
    if (isUpload) forwardUpload(req, res, up);
    else req.pipe(up);
    req.resume();
    };
    if (isBlob && o.blobDelayMs) setTimeout(forward, o.blobDelayMs);
    else forward();
  });

  /** Forwards an upload body chunk by chunk: counted, throttled, held or cut off per the options. */
  function forwardUpload(req: http.IncomingMessage, res: http.ServerResponse, up: http.ClientRequest): void {
    const started = Date.now();
    let mine = 0;
    let cut = false;
    state.activeUploads++;
    // A client gone mid-body (killed, reset) leaves the registry with what it got so far.
    req.on('close', () => {
      state.activeUploads--;
      if (!req.complete) up.destroy();
    });
    const next = (chunk: Buffer) => {
      const o = state.options;
      if (cut) return;
      if (o.holdUploadsAfter !== undefined && state.uploadBytes >= o.holdUploadsAfter) {
        req.pause();
        held.push(() => {
          req.resume();
          next(chunk);
        });
        return;
      }
      if (o.resetUploadAfter !== undefined && mine + chunk.length >= o.resetUploadAfter) {
        const part = chunk.subarray(0, Math.max(0, o.resetUploadAfter - mine));
        state.uploadBytes += part.length;
        cut = true;
        const times = (o.resetUploads ?? 1) - 1;
        if (times <= 0) o.resetUploadAfter = undefined;
        o.resetUploads = times;
        up.write(part, () => {
          up.destroy();
          res.socket?.destroy();
        });
        return;
      }
      mine += chunk.length;
      state.uploadBytes += chunk.length;
      const ok = up.write(chunk);
      const wait = o.uploadRate ? (mine / o.uploadRate) * 1000 - (Date.now() - started) : 0;
      if (!ok || wait > 0) {
        req.pause();
        let pending = (ok ? 0 : 1) + (wait > 0 ? 1 : 0);
        const go = () => --pending === 0 && req.resume();
        if (!ok) up.once('drain', go);
        if (wait > 0) setTimeout(go, wait);
      }
    };
    req.on('data', next);
    // Not emitted while a chunk is held (the request is paused then), so nothing overtakes it.
    req.on('end', () => {
      if (!cut) up.end();
    });
  }
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  state.host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}
