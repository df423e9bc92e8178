/**
 * Yields `source` without its first `n` bytes (none for n ≤ 0): how a plain stream is
 * resumed, by reading and discarding what the ingest already holds.
 */
export async function* skipBytes<T extends Uint8Array>(source: AsyncIterable<T>, n: number): AsyncGenerator<T> {
  let skip = Math.max(0, n);
  for await (const chunk of source) {
    if (skip === 0) {
      yield chunk;
    } else if (chunk.byteLength <= skip) {
      skip -= chunk.byteLength;
    } else {
      yield chunk.subarray(skip) as T;
      skip = 0;
    }
  }
}
