/**
 * Bench worker (piscina): hashes in-memory data from a SharedArrayBuffer, to measure the
 * multi-threaded hashing limits without any I/O. `noop` measures the bare round trip.
 */
import { createHash } from 'node:crypto';
import { createBLAKE3, createSHA256, createSHA512, type IHasher } from 'hash-wasm';

export interface HashMemTask {
  op: 'hash' | 'noop';
  impl?: 'native' | 'wasm';
  alg?: 'sha256' | 'sha512' | 'blake3';
  buf?: SharedArrayBuffer;
  /** Bytes to hash, cycling over `buf` in `chunk`-byte pieces. */
  bytes?: number;
  chunk?: number;
}

const wasm = new Map<string, Promise<IHasher>>();
function wasmHasher(alg: string): Promise<IHasher> {
  let h = wasm.get(alg);
  if (!h) {
    h = alg === 'sha256' ? createSHA256() : alg === 'sha512' ? createSHA512() : createBLAKE3();
    wasm.set(alg, h);
  }
  return h;
}

export default async function run(task: HashMemTask): Promise<{ ms: number; hex?: string }> {
  if (task.op === 'noop') return { ms: 0 };
  const data = new Uint8Array(task.buf!);
  const chunk = task.chunk ?? 1 << 20;
  const alg = task.alg ?? 'sha256';
  const t = performance.now();
  let hex: string;
  if (task.impl === 'native') {
    const h = createHash(alg);
    for (let done = 0, at = 0; done < task.bytes!; done += chunk, at = (at + chunk) % data.byteLength) h.update(data.subarray(at, at + chunk));
    hex = h.digest('hex');
  } else {
    const h = await wasmHasher(alg);
    h.init();
    for (let done = 0, at = 0; done < task.bytes!; done += chunk, at = (at + chunk) % data.byteLength) h.update(data.subarray(at, at + chunk));
    hex = h.digest('hex');
  }
  return { ms: performance.now() - t, hex };
}
