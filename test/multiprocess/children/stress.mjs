// One stress process: ingests `count` blobs of a shared, seed-derived set of `blobs` distinct
// contents (sizes skewed small, a few MiB-sized) with ref = digest and wait: true, so that
// processes overlap on the same refs and digests. Prints `result {committed, existed, errors}`.
// CK_ARGS: {root, proc, procs, blobs, count, seed}
import { createHash } from 'node:crypto';
import { args, errJson, guard, hashEngine, lib, print, seededBytes } from './common.mjs';
import { blobSize } from './stress-sizes.mjs';

guard();

const { root, proc, procs, blobs, count, seed } = args;
const store = lib.openStore(root);
// Each process covers a window of the set, in its own order: together they cover every blob.
const stride = Math.ceil(blobs / procs);
const picks = Array.from({ length: count }, (_, k) => (proc * stride + k) % blobs);
for (let i = picks.length - 1; i > 0; i--) {
  const j = (i * 2654435761 + proc * 40503) % (i + 1);
  [picks[i], picks[j]] = [picks[j], picks[i]];
}
let committed = 0;
let existed = 0;
const errors = [];
const t0 = Date.now();
for (const i of picks) {
  const content = seededBytes(seed * 100_003 + i, blobSize(i, seed));
  const digest = `sha256:${createHash('sha256').update(content).digest('hex')}`;
  try {
    const r = await lib.writeBlob(store, digest, { size: content.length, read: async (p, l) => content.subarray(p, p + l) }, {
      expected: digest,
      size: content.length,
      wait: true,
    });
    if (r.digest !== digest) errors.push({ i, message: `digest ${r.digest} != ${digest}` });
    if (r.existed) existed++;
    else committed++;
  } catch (err) {
    errors.push({ i, ...errJson(err) });
  }
}
print('result', { proc, committed, existed, errors, ms: Date.now() - t0 });
await store.close();
await hashEngine.closeDefaultEngine();
