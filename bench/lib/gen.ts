/**
 * Writes N pseudo-random bytes to stdout (a 16 MiB random block, each 1 MiB chunk stamped
 * with its index so no two chunks are equal). Used to feed `dist ingest` through a pipe
 * without a source file on disk.
 */
import { randomFillSync } from 'node:crypto';

const total = Number(process.argv[2]);
if (!Number.isSafeInteger(total) || total < 0) {
  console.error('usage: gen BYTES');
  process.exit(2);
}
const CHUNK = 1 << 20;
const block = randomFillSync(Buffer.allocUnsafe(16 * CHUNK));
let sent = 0;
let index = 0;

function pump(): void {
  while (sent < total) {
    const n = Math.min(CHUNK, total - sent);
    const at = (index % 16) * CHUNK;
    const chunk = Buffer.from(block.subarray(at, at + n));
    if (n >= 8) chunk.writeDoubleLE(index, 0);
    index++;
    sent += n;
    if (!process.stdout.write(chunk)) {
      process.stdout.once('drain', pump);
      return;
    }
  }
  process.stdout.end();
}
process.stdout.on('error', () => process.exit(1));
pump();
