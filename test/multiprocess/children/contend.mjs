// One contender for a ref lock: waits for the shared start file, tries once (no wait) and
// prints `won` or `lost {...}`. A winner keeps the lock until its stdin ends.
// CK_ARGS: {root, ref, start, lock?}
import { existsSync } from 'node:fs';
import { args, errJson, guard, hashEngine, lib, print, storeOptions } from './common.mjs';

guard();
const store = lib.openStore(args.root, storeOptions());
print('armed', { pid: process.pid });
while (!existsSync(args.start)) await new Promise((r) => setTimeout(r, 1));
let w;
try {
  w = await store.writer({ ref: args.ref });
  print('won', { pid: process.pid });
} catch (err) {
  print('lost', errJson(err));
}
if (w) {
  process.stdin.resume();
  await new Promise((r) => process.stdin.on('end', r));
  await w.close();
}
await hashEngine.closeDefaultEngine();
process.exit(0);
