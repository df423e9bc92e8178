/**
 * What the client is willing to hold in memory or wait for, for every remote document it
 * reads whole (manifests, indexes, token responses, error bodies). Blobs never count: they
 * stream to the store or to stdout. Light module (constants only).
 */

/** One manifest or index; distribution's own limit is 4 MiB. */
export const MAX_MANIFEST = 4 << 20;

/**
 * Manifests one pull holds at once (an index's chosen children, kept until their blobs are
 * committed). Each is at most min(declared size, MAX_MANIFEST), so the sum of those bounds
 * the memory before anything is fetched.
 */
export const MAX_PULL_MANIFESTS = 64 << 20;

/** A token server's JSON answer. */
export const MAX_TOKEN_RESPONSE = 1 << 20;

/** Error bodies are read for their message only; the rest is dropped. */
export const MAX_ERROR_BODY = 64 << 10;
export const ERROR_BODY_TIMEOUT_MS = 2_000;

/**
 * A body we do not read (redirects, retried answers) is drained up to this much so its
 * keep-alive socket can be reused; beyond that, or after DISCARD_TIMEOUT_MS, the socket is
 * destroyed instead (a body that never ends must not keep the process alive).
 */
export const MAX_DISCARD = 64 << 10;
export const DISCARD_TIMEOUT_MS = 2_000;

/**
 * Time for a whole document body to arrive once the headers did. The socket's idle timeout
 * catches a silent peer; this catches one that drips a byte at a time forever. 4 MiB at
 * 64 KiB/s fits. DIST_DOCUMENT_TIMEOUT_MS overrides it (tests).
 */
export function documentTimeoutMs(): number {
  const v = Number(process.env.DIST_DOCUMENT_TIMEOUT_MS);
  return Number.isSafeInteger(v) && v > 0 ? v : 120_000;
}
