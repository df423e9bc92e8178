/**
 * The limit a wasm stream ingest is measured against (bench/ingest-limits.ts): a whole
 * process that reads FILE in 1 MiB pieces and hashes it with hash-wasm SHA-256 on its one
 * thread, printing the hex digest. Nothing else: no store, no workers, no disk writes.
 *
 *   node dist/bench/lib/wasm-sha256-file.js FILE
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { createSHA256 } from 'hash-wasm';

const file = process.argv[2];
if (!file) {
  console.error('usage: wasm-sha256-file FILE');
  process.exit(2);
}
const h = await createSHA256();
h.init();
const buf = Buffer.allocUnsafe(1 << 20);
const fd = openSync(file, 'r');
try {
  for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(n === buf.length ? buf : buf.subarray(0, n));
} finally {
  closeSync(fd);
}
console.log(h.digest('hex'));
