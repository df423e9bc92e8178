/**
 * Registry API v2 client for one host: resolve a tag or digest to a descriptor, fetch a
 * manifest (bounded, verified), open a blob stream at an offset (Range); `request` also
 * carries the upload protocol (src/remote/upload-session.ts). Every request carries auth
 * (see auth.ts; pull scope unless the caller names another), follows redirects (blob
 * storage; Authorization is never sent to another origin than the registry's), and retries
 * 5xx/429 and connection failures with backoff before giving up as Unavailable. Non-2xx
 * answers become ContentErrors: 404 → NotFound, 401/403 → FailedPrecondition,
 * 400 → InvalidArgument.
 */
import type { IncomingMessage } from 'node:http';
import { ContentError, dataLoss, failedPrecondition, invalidArgument, notFound, unavailable } from '../errors.js';
import { isDigest } from '../digest.js';
import { Authorizer, pullScope } from './auth.js';
import type { Credentials } from './credentials.js';
import type { Descriptor } from './descriptor.js';
import { readDocument } from './document.js';
import { discard, header, send, type Body, type Method, type RawResponse } from './http.js';
import { documentTimeoutMs, ERROR_BODY_TIMEOUT_MS, MAX_ERROR_BODY, MAX_MANIFEST } from './limits.js';
import { acceptHeader, bareType } from './media-types.js';
import { apiHost } from './reference.js';
import { backoffMs, canceledBy, defaultRetry, isRetryableError, isRetryableStatus, sleep, type RetryPolicy } from './retry.js';
import { sha256Of, verifier } from './verify.js';

export interface ClientOptions {
  host: string;
  plainHttp?: boolean;
  credentials?: Credentials;
  retry?: RetryPolicy;
  /** Idle socket timeout per request. */
  idleTimeoutMs?: number;
}

export interface RequestOptions {
  method?: Method;
  headers?: Record<string, string>;
  /** Sent again on each retry, redirect and auth round (a function is called once per send). */
  body?: Body;
  repository: string;
  /** Token scope (default: pull on `repository`). */
  scope?: string;
  signal?: AbortSignal;
  /** What is being fetched, for error messages (`manifest host/repo:tag`). */
  what: string;
  /** Tries for this request (default: the client's retry policy). */
  attempts?: number;
}

export interface BlobStream {
  /** 200: from zero (the server ignored Range); 206: from `start` as asked. */
  status: 200 | 206;
  start: number;
  body: IncomingMessage;
}

export class RegistryClient {
  readonly host: string;
  readonly auth: Authorizer;
  private readonly base: URL;
  private readonly retry: RetryPolicy;
  private readonly idleTimeoutMs?: number;

  constructor(options: ClientOptions) {
    this.host = options.host;
    this.base = new URL(`${options.plainHttp ? 'http' : 'https'}://${apiHost(options.host)}/`);
    this.auth = new Authorizer(options.credentials);
    this.retry = options.retry ?? defaultRetry();
    this.idleTimeoutMs = options.idleTimeoutMs;
  }

  /** `http(s)://host[:port]` of the registry's API: the only origin that gets credentials. */
  get origin(): string {
    return this.base.origin;
  }

  /** Sends a request; resolves with a 2xx response (body unread) or throws a ContentError. */
  async request(path: string, o: RequestOptions): Promise<RawResponse> {
    const origin = new URL(path, this.base);
    const scope = o.scope ?? pullScope(o.repository);
    let url = origin;
    let attempt = 0;
    let authRetried = false;
    let redirects = 0;
    const attempts = o.attempts ?? this.retry.attempts;
    for (;;) {
      if (o.signal?.aborted) throw canceledBy(o.signal);
      // Credentials go to the registry's own origin only: not to a redirect target, nor to an
      // absolute upload URL (or a stored one) that names another host.
      const onRegistry = url.origin === this.base.origin;
      const auth = onRegistry ? await this.auth.header(url, scope, o.signal) : undefined;
      const headers: Record<string, string> = { 'user-agent': 'containerkit-dist', ...o.headers };
      if (auth) headers.authorization = auth;
      let res: RawResponse;
      try {
        res = await send(url, { method: o.method ?? 'GET', headers, body: o.body, signal: o.signal, idleTimeoutMs: this.idleTimeoutMs });
      } catch (err) {
        if (o.signal?.aborted) throw canceledBy(o.signal);
        if (isRetryableError(err) && attempt + 1 < attempts) {
          await sleep(backoffMs(attempt++, this.retry), o.signal);
          url = origin; // a redirect target (e.g. a signed URL) is re-obtained from the registry
          continue;
        }
        const e = err as NodeJS.ErrnoException;
        throw unavailable('ERR_REGISTRY_UNREACHABLE', `${o.what}: ${url.host}: ${e.message}${attempt ? ` (after ${attempt + 1} tries)` : ''}`, {
          errno: e.code, url: url.origin,
        });
      }
      const status = res.status;
      if (status === 401 && onRegistry && !authRetried) {
        discard(res.body);
        authRetried = true;
        if (this.auth.unauthorized(url, res.headers, scope, auth)) continue;
        throw this.statusError(res, o, Buffer.alloc(0));
      }
      if (status >= 300 && status < 400 && status !== 304 && res.headers.location) {
        discard(res.body);
        if (++redirects > 10) throw unavailable('ERR_TOO_MANY_REDIRECTS', `${o.what}: more than 10 redirects`, { url: url.href });
        url = new URL(res.headers.location, url);
        continue;
      }
      if (isRetryableStatus(status) && attempt + 1 < attempts) {
        discard(res.body);
        const retryAfter = Number(header(res.headers, 'retry-after')) * 1000;
        const wait = Number.isFinite(retryAfter) && retryAfter > 0 ? Math.min(retryAfter, this.retry.maxMs) : backoffMs(attempt, this.retry);
        attempt++;
        await sleep(wait, o.signal);
        url = origin;
        continue;
      }
      if (status >= 200 && status < 300) return res;
      // Read for its message only: capped and quick, and any failure just loses the detail.
      const body = await readDocument(res, {
        what: o.what, cap: MAX_ERROR_BODY, capText: '', kind: 'Unavailable', code: 'ERR_HTTP_STATUS', timeoutMs: ERROR_BODY_TIMEOUT_MS,
      }).catch(() => Buffer.alloc(0));
      throw this.statusError(res, o, body, attempt);
    }
  }

  private statusError(res: RawResponse, o: RequestOptions, body: Buffer, attempt = 0): ContentError {
    let detail = '';
    try {
      const errs = (JSON.parse(body.toString('utf8')) as { errors?: Array<{ code?: string; message?: string }> }).errors;
      if (errs?.length) detail = `: ${errs.map((e) => [e.code, e.message].filter(Boolean).join(' ')).join('; ')}`;
    } catch {
      /* not a registry error body */
    }
    const s = res.status;
    const d = { status: s, url: res.url.href };
    const msg = `${o.what}: HTTP ${s}${detail}`;
    if (s === 404) return notFound('ERR_NOT_FOUND', `${o.what}: not found${detail}`, d);
    if (s === 401) return failedPrecondition('ERR_UNAUTHORIZED', `${o.what}: unauthorized${detail} (credentials: --user or ~/.docker/config.json)`, d);
    if (s === 403) return failedPrecondition('ERR_DENIED', `${o.what}: access denied${detail}`, d);
    if (s === 416) return failedPrecondition('ERR_RANGE_NOT_SATISFIABLE', msg, d);
    if (s === 400) return invalidArgument('ERR_BAD_REQUEST', msg, d);
    if (s >= 500 || s === 429) return unavailable('ERR_REGISTRY_UNAVAILABLE', `${msg}${attempt ? ` (after ${attempt + 1} tries)` : ''}`, d);
    return unavailable('ERR_HTTP_STATUS', `${o.what}: unexpected HTTP ${s}${detail}`, d);
  }

  private manifestPath(repository: string, object: string): string {
    return `/v2/${repository}/manifests/${object}`;
  }

  /**
   * Resolves a tag or digest to the descriptor of its manifest or index: HEAD first (cheap),
   * then GET when the registry does not name the digest.
   */
  async resolve(repository: string, object: string, o: { hints?: string[]; signal?: AbortSignal } = {}): Promise<Descriptor> {
    const what = `manifest ${this.host}/${repository}${isDigest(object) ? '@' : ':'}${object}`;
    const res = await this.request(this.manifestPath(repository, object), {
      method: 'HEAD', repository, what, signal: o.signal, headers: { accept: acceptHeader(o.hints) },
    });
    discard(res.body);
    const digest = header(res.headers, 'docker-content-digest');
    const mediaType = bareType(header(res.headers, 'content-type'));
    const size = Number(header(res.headers, 'content-length'));
    if (isDigest(object) && digest && digest !== object) {
      throw dataLoss('ERR_DIGEST_MISMATCH', `${what}: registry answered with digest ${digest}`, { digest: object, expected: object, actual: digest });
    }
    const d = isDigest(object) ? object : digest;
    if (d && isDigest(d) && mediaType && Number.isSafeInteger(size) && size > 0) return { mediaType, digest: d, size };
    const { descriptor } = await this.fetchManifest(repository, object, o);
    return descriptor;
  }

  /**
   * Fetches a manifest into memory and verifies it: against the digest asked for, else
   * against the registry's Docker-Content-Digest, and against `expected` when given.
   * Memory is bounded by min(expected size, MAX_MANIFEST): a descriptor declaring more than
   * MAX_MANIFEST fails before the request, and a body running past the bound fails at the
   * first chunk over (document.ts), as does one that is not complete in time.
   */
  async fetchManifest(
    repository: string,
    object: string,
    o: { hints?: string[]; expected?: Descriptor; signal?: AbortSignal; attempts?: number } = {},
  ): Promise<{ descriptor: Descriptor; bytes: Buffer }> {
    const what = `manifest ${this.host}/${repository}${isDigest(object) ? '@' : ':'}${object}`;
    const declared = o.expected?.size;
    if (declared !== undefined && declared > MAX_MANIFEST) {
      throw dataLoss('ERR_MANIFEST_TOO_LARGE', `${what}: declared size ${declared} bytes is over the ${MAX_MANIFEST}-byte limit for manifests`, {
        digest: o.expected!.digest, expected: MAX_MANIFEST, actual: declared,
      });
    }
    const res = await this.request(this.manifestPath(repository, object), {
      repository, what, signal: o.signal, attempts: o.attempts, headers: { accept: acceptHeader(o.hints) },
    });
    const bytes = await readDocument(res, {
      what,
      ...(declared !== undefined
        ? { cap: declared, capText: `the declared ${declared} bytes`, code: 'ERR_SIZE_MISMATCH' }
        : { cap: MAX_MANIFEST, capText: `the ${MAX_MANIFEST}-byte limit for manifests`, code: 'ERR_MANIFEST_TOO_LARGE' }),
      kind: 'DataLoss',
      timeoutMs: documentTimeoutMs(),
      signal: o.signal,
    });
    const headerDigest = header(res.headers, 'docker-content-digest');
    const want = o.expected?.digest ?? (isDigest(object) ? object : headerDigest && isDigest(headerDigest) ? headerDigest : undefined);
    const digest = want ?? sha256Of(bytes);
    const v = await verifier(digest, o.expected?.size);
    v.update(bytes);
    v.check(what);
    const mediaType = bareType(header(res.headers, 'content-type')) ?? o.expected?.mediaType ?? sniffMediaType(bytes);
    return { descriptor: { mediaType, digest, size: bytes.length }, bytes };
  }

  /**
   * Opens a blob at `offset`. Only two answers are accepted: 206 whose Content-Range starts
   * exactly at `offset`, or 200 (the server ignored Range; the caller restarts from zero).
   */
  async openBlob(repository: string, digest: string, o: { offset?: number; signal?: AbortSignal } = {}): Promise<BlobStream> {
    const offset = o.offset ?? 0;
    const what = `blob ${this.host}/${repository}@${digest}`;
    const headers: Record<string, string> = { accept: '*/*' };
    if (offset > 0) headers.range = `bytes=${offset}-`;
    const res = await this.request(`/v2/${repository}/blobs/${digest}`, { repository, what, signal: o.signal, headers });
    if (res.status === 200) return { status: 200, start: 0, body: res.body };
    if (res.status === 206 && offset > 0) {
      const cr = header(res.headers, 'content-range');
      const m = cr ? /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(cr) : null;
      if (m && Number(m[1]) === offset) return { status: 206, start: offset, body: res.body };
      discard(res.body);
      throw unavailable('ERR_BAD_RANGE', `${what}: asked for bytes from ${offset}, got Content-Range ${JSON.stringify(cr)}`, {
        digest, expected: offset, actual: cr ?? 'none',
      });
    }
    discard(res.body);
    throw unavailable('ERR_HTTP_STATUS', `${what}: unexpected HTTP ${res.status} for a blob${offset ? ` from offset ${offset}` : ''}`, {
      digest, status: res.status,
    });
  }
}

/** Media type from the document itself, for registries that send a generic Content-Type. */
function sniffMediaType(bytes: Buffer): string {
  try {
    const m = JSON.parse(bytes.toString('utf8')) as { mediaType?: string; manifests?: unknown; layers?: unknown };
    if (typeof m.mediaType === 'string') return m.mediaType;
    if (m.manifests) return 'application/vnd.oci.image.index.v1+json';
    if (m.layers) return 'application/vnd.oci.image.manifest.v1+json';
  } catch {
    /* fall through */
  }
  return 'application/octet-stream';
}
