import { fstatSync, createReadStream } from 'node:fs';
import { Socket } from 'node:net';
import type { Readable } from 'node:stream';

/** Read-ahead: a pipe holds only 64 KiB, so without it the producer stalls whenever the writer waits. */
const READ_AHEAD = 4 << 20;

/**
 * stdin as a stream with a deep read-ahead. Pipes and sockets are read non-blocking: a
 * blocking read of a stalled pipe would sit in libuv's threadpool, and process exit waits
 * for that thread, so an interrupted `curl … | dist ingest` could not exit until curl did.
 * Regular files use positional fs reads (they never block indefinitely).
 */
export function stdinStream(): Readable {
  let st;
  try {
    st = fstatSync(0);
  } catch {
    return process.stdin;
  }
  // A file never stalls: read it in 1 MiB pieces (each read allocates its buffer).
  if (st.isFile()) return createReadStream('', { fd: 0, highWaterMark: 1 << 20, autoClose: false });
  if (st.isFIFO() || st.isSocket()) {
    // net.Socket passes stream options through to Duplex; the typings omit them.
    const opts = { fd: 0, readable: true, writable: false, readableHighWaterMark: READ_AHEAD };
    return new Socket(opts as ConstructorParameters<typeof Socket>[0]);
  }
  return process.stdin;
}
