import { fstatSync, createReadStream, read } from 'node:fs';
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

/** Piece size of a file on stdin: one store write, one hash update. */
const FILE_PIECE = 1 << 20;

/** An async iterable with the one Readable method callers use on an interrupt. */
export interface StdinSource extends AsyncIterable<Uint8Array> {
  destroy(): void;
}

function readPiece(fd: number, buf: Buffer): Promise<number> {
  // Position null: from the descriptor's own offset (stdin may start mid-file), advanced by
  // each read; one read is in flight at a time, so they stay in order.
  return new Promise((resolve, reject) => read(fd, buf, 0, buf.byteLength, null, (err, n) => (err ? reject(err) : resolve(n))));
}

/**
 * stdin for a consumer that is done with each chunk once it asks for the next one (writeBlob:
 * a Writer keeps no reference to a chunk after write() resolves). A regular file is read
 * into two recycled 1 MiB buffers, the next read under way while the consumer holds the
 * other: nothing is allocated per read (a fresh 1 MiB buffer per read costs a page fault
 * per page touched, ~0.4 s of system time per GiB here, and GC). Anything else is
 * stdinStream().
 */
export function stdinSource(): StdinSource | Readable {
  let st;
  try {
    st = fstatSync(0);
  } catch {
    return stdinStream();
  }
  if (!st.isFile()) return stdinStream();
  let destroyed = false;
  return {
    destroy: () => {
      destroyed = true;
    },
    async *[Symbol.asyncIterator]() {
      const bufs = [Buffer.allocUnsafeSlow(FILE_PIECE), Buffer.allocUnsafeSlow(FILE_PIECE)];
      let i = 0;
      let next = readPiece(0, bufs[0]!);
      for (;;) {
        const n = await next;
        if (n === 0 || destroyed) return;
        const full = bufs[i]!;
        i ^= 1;
        next = readPiece(0, bufs[i]!);
        // A failed read-ahead surfaces at the next await; never as an unhandled rejection.
        next.catch(() => {});
        yield full.subarray(0, n);
      }
    },
  };
}
