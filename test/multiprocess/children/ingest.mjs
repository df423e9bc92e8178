// One ingest through writeBlob (or a raw writer), then `result {...}` or `error {...}` on stdout.
//
// CK_ARGS: {root, ref, content: {seed, size} | {repeat: {seed, chunk, count}}, source: 'ranged'|'stream'|'restart',
//           expected?, size?, wait?, lock?, checkpointBytes?, checkpointMs?, chunk?, raw?: boolean,
//           enospcAfter?: number (inject ENOSPC into data writes past this many bytes: non-root fallback)}
import dc from 'node:diagnostics_channel';
import { open } from 'node:fs/promises';
import { args, errJson, guard, hashEngine, lib, print, seededBytes, storeOptions } from './common.mjs';

guard();
const resumes = [];
dc.subscribe('containerkit:ingest:resume', (m) => resumes.push({ alg: m.alg, size: m.size, from: m.from, checkpoint: m.checkpoint }));
const takeovers = [];
let openedAt;
dc.subscribe('containerkit:ingest:open', () => (openedAt ??= Date.now()));
let loop;
if (args.loopDelay) {
  const { monitorEventLoopDelay } = await import('node:perf_hooks');
  loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
}
dc.subscribe('containerkit:lock:takeover', (m) => takeovers.push({ owner: m.owner ?? null, liveness: m.liveness }));

if (args.enospcAfter !== undefined) {
  // Without root (no tmpfs): make data writes past `enospcAfter` bytes fail like a full disk.
  const fh = await open(process.execPath, 'r');
  const proto = Object.getPrototypeOf(fh);
  await fh.close();
  const orig = proto.write;
  proto.write = function (buf, offset, length, position) {
    if (typeof position === 'number' && position + (length ?? buf.byteLength) > args.enospcAfter && length > 100) {
      const err = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
      return Promise.reject(err);
    }
    return orig.apply(this, arguments);
  };
}

const chunkSize = args.chunk ?? 64 * 1024;
let total;
let source;
if (args.content.repeat) {
  const { seed, chunk, count } = args.content.repeat;
  const base = seededBytes(seed, chunk);
  total = chunk * count;
  // A generator: content is produced on the fly (1 GiB never sits in memory).
  source = (async function* () {
    for (let i = 0; i < count; i++) {
      const c = Buffer.from(base);
      c.writeUInt32LE(i, 0);
      yield c;
    }
  })();
} else {
  const buf = seededBytes(args.content.seed, args.content.size);
  total = buf.length;
  const kind = args.source ?? 'ranged';
  if (kind === 'ranged') {
    source = { size: buf.length, read: async (pos, len) => buf.subarray(pos, pos + len) };
  } else if (kind === 'stream') {
    source = (async function* () {
      for (let p = 0; p < buf.length; p += chunkSize) yield buf.subarray(p, p + chunkSize);
    })();
  } else if (kind === 'restart') {
    source = () =>
      (async function* () {
        for (let p = 0; p < buf.length; p += chunkSize) yield buf.subarray(p, p + chunkSize);
      })();
  }
}

const store = lib.openStore(args.root, storeOptions());
const t0 = Date.now();
try {
  const r = await lib.writeBlob(store, args.ref, source, {
    expected: args.expected,
    size: args.size === null ? undefined : (args.size ?? total),
    wait: args.wait,
    chunkSize,
  });
  print('result', { ...r, resumes, takeovers, openedAt, pid: process.pid, ms: Date.now() - t0, loopMaxMs: loop ? loop.max / 1e6 : undefined });
} catch (err) {
  print('error', { ...errJson(err), resumes, takeovers, openedAt, pid: process.pid, ms: Date.now() - t0 });
  process.exitCode = 3;
} finally {
  await store.close();
  await hashEngine.closeDefaultEngine();
}
