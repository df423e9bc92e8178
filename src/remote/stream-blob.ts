/**
 * Streams a blob to a sink (stdout for `dist fetch`), verifying its digest at the end.
 * A dropped connection resumes at the number of bytes already delivered with a Range
 * request; a server that then answers 200 is followed by skipping what was already
 * delivered (a sink cannot be truncated). Bounded retries, as in transfer.ts.
 */
import { ContentError, isKind, unavailable } from '../errors.js';
import type { RegistryClient } from './client.js';
import { backoffMs, defaultRetry, isRetryableError, sleep } from './retry.js';
import { verifier } from './verify.js';
import { skipBytes } from '../content/skip-bytes.js';

export async function streamBlob(
  client: RegistryClient,
  repository: string,
  digest: string,
  sink: (chunk: Buffer) => Promise<void>,
  o: { signal?: AbortSignal } = {},
): Promise<number> {
  const retry = defaultRetry();
  const v = await verifier(digest);
  let delivered = 0;
  let failures = 0;
  for (;;) {
    const before = delivered;
    try {
      const s = await client.openBlob(repository, digest, { offset: delivered, signal: o.signal });
      // A 200 (Range ignored) restarts at 0: skip what was already delivered.
      for await (const chunk of skipBytes(s.body as AsyncIterable<Buffer>, delivered - s.start)) {
        v.update(chunk);
        await sink(chunk);
        delivered += chunk.length;
      }
      v.check('blob');
      return delivered;
    } catch (err) {
      if (isKind(err, 'DataLoss') || o.signal?.aborted) throw err;
      // Failed requests were retried by the client already; here only broken streams are.
      const retryable = !(err instanceof ContentError) && isRetryableError(err);
      if (delivered > before) failures = 0;
      if (!retryable || ++failures >= retry.attempts) {
        if (err instanceof ContentError) throw err;
        throw unavailable('ERR_TRANSFER_FAILED', `blob ${digest}: transfer failed after ${delivered} bytes: ${(err as Error).message}`, { digest });
      }
      await sleep(backoffMs(failures - 1, retry), o.signal);
    }
  }
}
