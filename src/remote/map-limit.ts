/**
 * Runs fn over items with at most `limit` in flight. The first failure aborts `ac`, which
 * stops new starts and cancels the work in flight; the error reported is the root cause,
 * not the cancellations it triggered. Used by pull and push.
 */
import { isKind } from '../errors.js';
import { canceledBy } from './retry.js';

export async function mapLimit<T>(items: readonly T[], limit: number, ac: AbortController, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      if (ac.signal.aborted) throw canceledBy(ac.signal);
      try {
        await fn(items[next++]!);
      } catch (err) {
        if (!ac.signal.aborted) ac.abort(err);
        throw err;
      }
    }
  };
  const results = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, worker));
  const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  // The failure that aborted the others first, else the first that is not a cancellation.
  const first = ac.signal.reason as unknown;
  if (errors.length) throw errors.includes(first) ? first : errors.find((e) => !isKind(e, 'Canceled')) ?? errors[0];
}
