/**
 * Bounded reads of a response body that is held in memory whole. Guarantees:
 *   - at most `cap` bytes are ever buffered: a Content-Length over the cap fails before the
 *     body is read, and a body that runs past it fails at the first chunk over, its socket
 *     destroyed (never drained);
 *   - the whole body arrives within `timeoutMs` or the read fails, so a peer that streams
 *     forever or drips a byte at a time can neither grow memory nor hold a command forever.
 * Errors name the document (`what`) and the cap.
 */
import { ContentError, unavailable, type ErrorKind } from '../errors.js';
import { header, type RawResponse } from './http.js';
import { canceledBy } from './retry.js';

export interface DocumentLimits {
  /** `manifest host/repo:tag`, `token server https://auth.example`. */
  what: string;
  cap: number;
  /** The cap in words: `the 4194304-byte limit for manifests`, `the declared 1000 bytes`. */
  capText: string;
  /** Kind and code of an answer over the cap (a manifest: DataLoss; a token server: Unavailable). */
  kind: ErrorKind;
  code: string;
  timeoutMs: number;
  signal?: AbortSignal;
}

class DocumentTimeout extends Error {}

export async function readDocument(res: RawResponse, o: DocumentLimits): Promise<Buffer> {
  const body = res.body;
  const tooLarge = (why: string, actual: number) =>
    new ContentError(o.kind, o.code, `${o.what}: ${why} ${o.capText}`, { expected: o.cap, actual, url: res.url.href });
  const length = header(res.headers, 'content-length');
  if (length !== undefined && Number(length) > o.cap) {
    body.destroy();
    throw tooLarge(`Content-Length ${length} is over`, Number(length));
  }
  const chunks: Buffer[] = [];
  let n = 0;
  const timer = setTimeout(() => body.destroy(new DocumentTimeout()), o.timeoutMs);
  try {
    for await (const c of body as AsyncIterable<Buffer>) {
      n += c.length;
      if (n > o.cap) {
        body.destroy();
        throw tooLarge('body is larger than', n);
      }
      chunks.push(c);
    }
  } catch (err) {
    if (err instanceof ContentError) throw err;
    if (o.signal?.aborted) throw canceledBy(o.signal);
    if (err instanceof DocumentTimeout) {
      throw unavailable('ERR_DOCUMENT_TIMEOUT', `${o.what}: body not complete after ${o.timeoutMs} ms (${n} bytes received)`, {
        expected: o.timeoutMs, actual: n, url: res.url.href,
      });
    }
    const e = err as NodeJS.ErrnoException;
    throw unavailable('ERR_REGISTRY_UNREACHABLE', `${o.what}: body broke off after ${n} bytes: ${e.message}`, { errno: e.code, url: res.url.href });
  } finally {
    clearTimeout(timer);
  }
  return Buffer.concat(chunks, n);
}
