/**
 * Bounded retries with exponential backoff and full jitter, for 5xx/429 answers and for
 * connection failures (reset, refused, timeout). Everything else fails at once. The base
 * delay can be lowered with DIST_RETRY_BASE_MS (tests use it to keep failure paths fast).
 */
import { canceled, isKind, type ContentError } from '../errors.js';

export interface RetryPolicy {
  /** Total tries, including the first. */
  attempts: number;
  baseMs: number;
  maxMs: number;
}

export function defaultRetry(): RetryPolicy {
  const base = Number(process.env.DIST_RETRY_BASE_MS);
  return { attempts: 5, baseMs: Number.isFinite(base) && base >= 0 ? base : 250, maxMs: 5000 };
}

export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status !== 501 && status !== 505);
}

const RETRYABLE_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN',
  'EAI_AGAIN', 'ERR_STREAM_PREMATURE_CLOSE', 'UND_ERR_SOCKET', 'HPE_INVALID_CONSTANT', 'ECONNCLOSED',
]);

/** Transport failures worth another try (not aborts, not our own errors). */
export function isRetryableError(err: unknown): boolean {
  const e = err as NodeJS.ErrnoException;
  if (!e || e.name === 'AbortError') return false;
  if (typeof e.code === 'string' && RETRYABLE_CODES.has(e.code)) return true;
  return /socket hang up|aborted|premature close/i.test(String(e.message));
}

export function backoffMs(attempt: number, policy: RetryPolicy): number {
  const cap = Math.min(policy.maxMs, policy.baseMs * 2 ** attempt);
  return Math.round(cap / 2 + Math.random() * (cap / 2));
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(canceledBy(signal));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(canceledBy(signal!));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The error an aborted operation throws: the abort reason when it is Canceled already. */
export function canceledBy(signal: AbortSignal): ContentError {
  if (isKind(signal.reason, 'Canceled')) return signal.reason;
  const why = signal.reason instanceof Error ? signal.reason.message : String(signal.reason ?? 'aborted');
  return canceled('ERR_CANCELED', `canceled: ${why}`, {});
}
