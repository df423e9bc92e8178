/**
 * The registry's blob upload protocol (distribution spec, "Pushing blobs"), one request per
 * function, no policy: HEAD a blob; start an upload (POST, optionally as a cross-repository
 * mount); read a session's offset (GET: the `Range` header); append a streamed segment
 * (PATCH, chunked transfer encoding, as `docker push` sends); commit (PUT ?digest=, with
 * the whole blob for a monolithic upload); cancel (DELETE). Every request uses the push
 * scope. The upload URL a registry returns is opaque and changes with every answer
 * (distribution signs the offset into it), so each answer's Location replaces the last.
 */
import type { ClientRequest } from 'node:http';
import { isDigest } from '../digest.js';
import { dataLoss, isKind, unavailable } from '../errors.js';
import { mountScope, pushScope } from './auth.js';
import type { RegistryClient } from './client.js';
import { discard, header, type RawResponse } from './http.js';

export interface Session {
  url: URL;
  /** Bytes the registry holds for this upload. */
  offset: number;
}

const what = (c: RegistryClient, repo: string, digest: string) => `blob ${c.host}/${repo}@${digest}`;

function protocolError(w: string, res: RawResponse, why: string) {
  return unavailable('ERR_UPLOAD_PROTOCOL', `${w}: ${why} (HTTP ${res.status})`, { status: res.status, url: res.url.href });
}

function locationOf(w: string, res: RawResponse): URL {
  const loc = header(res.headers, 'location');
  if (!loc) throw protocolError(w, res, 'the registry gave no upload Location');
  try {
    return new URL(loc, res.url);
  } catch {
    throw protocolError(w, res, `unusable upload Location ${JSON.stringify(loc)}`);
  }
}

/**
 * The offset a `Range: 0-<last>` answer names. `0-0` means 0 bytes or 1 byte (distribution
 * writes both that way); it is taken as `hint` only when the hint is 0 or 1, else unknown.
 */
export function rangeOffset(range: string | undefined, hint: number): number | undefined {
  const m = range ? /^(?:bytes=)?0-(\d+)$/.exec(range.trim()) : null;
  if (!m) return undefined;
  const last = Number(m[1]);
  if (!Number.isSafeInteger(last)) return undefined;
  if (last === 0) return hint <= 1 ? hint : undefined;
  return last + 1;
}

/** True when the repository has the blob (HEAD 200), false on 404. */
export async function blobExists(c: RegistryClient, repo: string, digest: string, signal?: AbortSignal): Promise<boolean> {
  try {
    const res = await c.request(`/v2/${repo}/blobs/${digest}`, { method: 'HEAD', repository: repo, scope: pushScope(repo), what: what(c, repo, digest), signal });
    discard(res.body);
    return true;
  } catch (err) {
    if (isKind(err, 'NotFound')) return false;
    throw err;
  }
}

export type Started = { mounted: true } | { mounted: false; session: Session };

/**
 * POST …/blobs/uploads/. With `from`, asks to mount the blob from that repository of the
 * same registry: 201 means done, 202 means the registry declined and opened an upload.
 */
export async function startUpload(c: RegistryClient, repo: string, digest: string, o: { from?: string; signal?: AbortSignal } = {}): Promise<Started> {
  const w = what(c, repo, digest);
  const q = o.from ? `?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(o.from)}` : '';
  const res = await c.request(`/v2/${repo}/blobs/uploads/${q}`, {
    method: 'POST', repository: repo, scope: o.from ? mountScope(repo, o.from) : pushScope(repo), what: `${w}: start upload`, signal: o.signal,
  });
  discard(res.body);
  if (res.status === 201 && o.from) {
    const got = header(res.headers, 'docker-content-digest');
    if (got && got !== digest) throw dataLoss('ERR_DIGEST_MISMATCH', `${w}: mount from ${o.from} answered with digest ${got}`, { digest, expected: digest, actual: got });
    return { mounted: true };
  }
  if (res.status !== 202) throw protocolError(w, res, 'unexpected answer to an upload start');
  return { mounted: false, session: { url: locationOf(w, res), offset: 0 } };
}

/**
 * GET on an upload URL: the session as the registry knows it now, or undefined when it is
 * gone (404/400: expired, cancelled, or — distribution — refused because the URL's signed
 * offset is not the data's size, after a segment that broke off mid-way).
 */
export async function uploadStatus(c: RegistryClient, repo: string, digest: string, url: URL, hint: number, signal?: AbortSignal): Promise<Session | undefined> {
  const w = what(c, repo, digest);
  let res: RawResponse;
  try {
    res = await c.request(url.href, { method: 'GET', repository: repo, scope: pushScope(repo), what: `${w}: upload status`, signal });
  } catch (err) {
    if (isKind(err, 'NotFound') || isKind(err, 'InvalidArgument')) return undefined;
    throw err;
  }
  discard(res.body);
  const offset = rangeOffset(header(res.headers, 'range'), hint);
  if (offset === undefined) return undefined;
  const loc = header(res.headers, 'location');
  return { url: loc ? locationOf(w, res) : url, offset };
}

/**
 * PATCH: streams one segment. `body` writes into the request and ends it (it is called
 * again if the request is re-sent after an auth round). Returns the session the registry
 * reports afterwards; `sent` is what the caller believes it sent (used when the registry
 * gives no Range).
 */
export async function patchSegment(
  c: RegistryClient,
  repo: string,
  digest: string,
  s: Session,
  body: (req: ClientRequest) => void,
  sent: () => number,
  signal?: AbortSignal,
): Promise<Session> {
  const w = what(c, repo, digest);
  const res = await c.request(s.url.href, {
    method: 'PATCH', repository: repo, scope: pushScope(repo), what: `${w}: upload from ${s.offset}`, signal, attempts: 1,
    headers: { 'content-type': 'application/octet-stream' }, body,
  });
  discard(res.body);
  if (res.status !== 202) throw protocolError(w, res, 'unexpected answer to an upload segment');
  const offset = rangeOffset(header(res.headers, 'range'), sent()) ?? sent();
  return { url: locationOf(w, res), offset };
}

/** PUT ?digest=: commits the upload (with `bytes`, the whole blob: a monolithic upload). */
export async function commitUpload(c: RegistryClient, repo: string, digest: string, s: Session, o: { bytes?: Buffer; signal?: AbortSignal } = {}): Promise<void> {
  const w = what(c, repo, digest);
  const url = new URL(s.url);
  url.searchParams.set('digest', digest);
  const res = await c.request(url.href, {
    method: 'PUT', repository: repo, scope: pushScope(repo), what: `${w}: commit`, signal: o.signal,
    headers: { 'content-type': 'application/octet-stream' },
    // A body cannot be re-sent into a session that may hold part of it: one try, the caller retries anew.
    ...(o.bytes ? { body: o.bytes, attempts: 1 } : {}),
  });
  discard(res.body);
  if (res.status !== 201 && res.status !== 204) throw protocolError(w, res, 'unexpected answer to an upload commit');
  const got = header(res.headers, 'docker-content-digest');
  if (got && isDigest(got) && got !== digest) throw dataLoss('ERR_DIGEST_MISMATCH', `${w}: registry committed the upload as ${got}`, { digest, expected: digest, actual: got });
}

/** DELETE: drops an upload (best effort: a failure leaves it to the registry's purging). */
export async function cancelUpload(c: RegistryClient, repo: string, digest: string, s: Session): Promise<void> {
  try {
    const res = await c.request(s.url.href, { method: 'DELETE', repository: repo, scope: pushScope(repo), what: `${what(c, repo, digest)}: cancel upload`, attempts: 1 });
    discard(res.body);
  } catch {
    /* best effort */
  }
}
