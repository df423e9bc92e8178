/**
 * A hasher pinned to one ingest (src/hash/stream.ts): loads the state it starts from, then
 * hashes each chunk posted to it in order and answers the state after it. The chunks are
 * views of SharedArrayBuffers (shared, never copied on the way); the hasher stays loaded
 * between chunks, so nothing waits for a round trip between one chunk and the next.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { parseAlgorithm } from '../src/digest.js';
import { failedPrecondition, toWire, wrapSystemError } from '../src/errors.js';
import type { StreamStart, StreamReply } from '../src/hash/stream.js';
import { compatible, HASH_BUILD, hasher } from '../src/hash/wasm.js';

const start = workerData as StreamStart;
const port = parentPort!;

async function open() {
  const alg = parseAlgorithm(start.alg);
  if (!compatible(start, alg)) {
    throw failedPrecondition('ERR_HASH_STATE_INCOMPATIBLE', `hash state from ${start.build} cannot be loaded by ${HASH_BUILD}`, {
      expected: HASH_BUILD,
      actual: start.build,
    });
  }
  const h = await hasher(alg);
  h.load(start.state);
  return h;
}

const ready = open();
let offset = start.offset;
let failed: StreamReply | undefined;

port.on('message', (data: Uint8Array) => {
  // Messages arrive in order and are handled in order: each waits only for the first load.
  void ready.then(
    (h) => {
      if (failed) return port.postMessage(failed);
      h.update(data);
      offset += data.byteLength;
      port.postMessage({ offset, state: h.save() } satisfies StreamReply);
    },
    (err: unknown) => {
      failed ??= { error: toWire(wrapSystemError(err, 'hash stream worker')) };
      port.postMessage(failed);
    },
  );
});
