// A long-lived writer driven over stdin, for lock tests.
//
// CK_ARGS: {root, ref, bytes? (offset to reach), seed?, expected?, total?, wait?, lock?, checkpointBytes?, checkpointMs?}
// Prints `ready {pid, offset, status}` once the writer is open and `bytes` are written (or
// `open-error {...}`), then obeys lines: `write <n>` → `wrote {offset}` | `error {...}`,
// `commit` → `committed <digest>` | `error {...}`, `close` → `closed`, `ping` → `pong {...}`,
// `exit` → exits. Lock compromise notifications print `compromised {...}`.
import dc from 'node:diagnostics_channel';
import { createInterface } from 'node:readline';
import { args, errJson, guard, hashEngine, lib, print, seededBytes, storeOptions } from './common.mjs';

guard();
dc.subscribe('containerkit:lock:compromised', (m) => print('compromised', { ref: m.ref, message: String(m.error?.message) }));

const store = lib.openStore(args.root, storeOptions());
let w;
const t0 = Date.now();
try {
  w = await store.writer({ ref: args.ref, total: args.total, expected: args.expected, wait: args.wait });
} catch (err) {
  print('open-error', { ...errJson(err), ms: Date.now() - t0 });
  await hashEngine.closeDefaultEngine();
  process.exit(0);
}
// Content is seededBytes(seed, ·): a writer resuming the ref continues the same stream, so
// `bytes` is the offset to reach (not a count), and `write <n>` appends n more.
let content = seededBytes(args.seed ?? 1, (args.bytes ?? 0) + (4 << 20));
let pos = (await w.status()).offset;
async function writeN(n) {
  if (pos + n > content.length) content = seededBytes(args.seed ?? 1, pos + n + (4 << 20));
  while (n > 0) {
    const k = Math.min(n, 64 * 1024);
    const c = pos + k <= content.length ? content.subarray(pos, pos + k) : Buffer.alloc(k, 0x61);
    await w.write(c);
    pos += k;
    n -= k;
  }
}
await writeN(Math.max(0, (args.bytes ?? 0) - pos));
print('ready', { pid: process.pid, offset: (await w.status()).offset, waitedMs: Date.now() - t0 });

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  const [cmd, arg] = line.split(' ');
  try {
    if (cmd === 'write') {
      await writeN(Number(arg));
      print('wrote', { offset: (await w.status()).offset });
    } else if (cmd === 'commit') {
      print('committed', { digest: await w.commit(), at: Date.now() });
    } else if (cmd === 'close') {
      await w.close();
      print('closed', { at: Date.now() });
    } else if (cmd === 'ping') {
      print('pong', { pid: process.pid, uptime: process.uptime() });
    } else if (cmd === 'exit') {
      break;
    }
  } catch (err) {
    print('error', errJson(err));
  }
}
await hashEngine.closeDefaultEngine();
process.exit(0);
