/**
 * One HTTP exchange over node:http/https, nothing more: no redirects, auth or retries (the
 * client layers those). The response body is returned unread as a stream so blobs are never
 * buffered (documents read whole go through document.ts, which caps them). Connections are
 * kept alive (idle sockets are unref'd by Node's agent, so they never hold the process open).
 * A request body is a Buffer (sent with its Content-Length) or a function that streams into
 * the request and ends it (uploads: chunked transfer encoding).
 */
import http, { type ClientRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { DISCARD_TIMEOUT_MS, MAX_DISCARD } from './limits.js';

const agents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: 64 }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 64 }),
};

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: IncomingMessage;
  url: URL;
}

export type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * A Buffer, or a function that writes the body into the request and ends it. A function is
 * called once per request sent, so a caller that retries gets a fresh call per attempt.
 */
export type Body = Buffer | ((req: ClientRequest) => void);

export interface SendOptions {
  method: Method;
  headers: Record<string, string>;
  body?: Body;
  signal?: AbortSignal;
  /** Idle time (no bytes either way) after which the socket is destroyed with ETIMEDOUT. */
  idleTimeoutMs?: number;
}

export class TimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
}

export function send(url: URL, options: SendOptions): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const mod = url.protocol === 'https:' ? https : http;
    const headers = { ...options.headers };
    const body = options.body;
    if (Buffer.isBuffer(body)) headers['content-length'] = String(body.length);
    else if (body === undefined && options.method !== 'GET' && options.method !== 'HEAD') headers['content-length'] = '0';
    const req = mod.request(url, {
      method: options.method,
      headers,
      agent: agents[url.protocol as 'http:' | 'https:'],
      signal: options.signal,
    });
    const idle = options.idleTimeoutMs ?? 60_000;
    req.setTimeout(idle, () => req.destroy(new TimeoutError(`no data from ${url.host} for ${idle} ms`)));
    // `on`, not `once`: a server may answer before it has read a streamed body, and the
    // writes still under way then fail after the promise settled.
    req.on('error', reject);
    req.once('response', (res) => {
      // After the response, the socket's idle timer guards the body stream too.
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res, url });
    });
    if (typeof body === 'function') body(req);
    else req.end(body);
  });
}

/**
 * Drops a body we do not read. A short one is drained so its keep-alive socket can be
 * reused; one longer than MAX_DISCARD, or not over within DISCARD_TIMEOUT_MS, has its
 * socket destroyed — draining a body that never ends would keep the process alive.
 */
export function discard(body: IncomingMessage): void {
  let n = 0;
  const timer = setTimeout(() => body.destroy(), DISCARD_TIMEOUT_MS);
  timer.unref();
  body.on('data', (c: Buffer) => {
    n += c.length;
    if (n > MAX_DISCARD) body.destroy();
  });
  body.once('close', () => clearTimeout(timer));
  body.once('error', () => {});
}

export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}
