/**
 * Child process for the locks suite (forked with IPC). Holds or waits for a ref lock, either
 * through the store (store.writer) or through proper-lockfile directly, and reports times on
 * the machine-wide monotonic clock (process.hrtime), which is comparable across processes.
 *
 * Messages in:  {cmd: 'acquire' | 'wait', kind: 'ours' | 'plf', root, ref, plf?: options}
 *               {cmd: 'release'} | {cmd: 'exit'}
 * Messages out: {ev: 'held', t} after 'acquire'; {ev: 'acquired', t} when a 'wait' succeeds
 *               (the lock is then released again at once, untimed); {ev: 'released', t0, t1}
 *               ({t0: just before releasing, t1: after}); {ev: 'error', message}.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import lockfile from 'proper-lockfile';
import { openStore, type Writer } from '../../src/index.js';

interface Msg {
  cmd: 'acquire' | 'wait' | 'release' | 'exit';
  kind?: 'ours' | 'plf';
  root?: string;
  ref?: string;
  /** proper-lockfile options for lock() (file = root/ref). */
  plf?: Record<string, unknown>;
}

const mono = () => Number(process.hrtime.bigint()) / 1e6;
const send = (m: unknown) => process.send!(m);

let held: { release(): Promise<void> } | undefined;

async function take(m: Msg, wait: boolean): Promise<{ release(): Promise<void> }> {
  if (m.kind === 'ours') {
    const store = openStore(m.root!);
    const w: Writer = await store.writer({ ref: m.ref!, wait });
    return { release: () => w.close() };
  }
  const file = `${m.root}/${m.ref}`;
  mkdirSync(dirname(file), { recursive: true });
  const release = await lockfile.lock(file, { realpath: false, ...(m.plf ?? {}), onCompromised: () => {} });
  return { release };
}

process.on('message', (m: Msg) => {
  (async () => {
    switch (m.cmd) {
      case 'acquire':
        held = await take(m, false);
        send({ ev: 'held', t: mono() });
        break;
      case 'wait': {
        const lock = await take(m, true);
        const t = mono();
        send({ ev: 'acquired', t });
        await lock.release();
        send({ ev: 'freed' });
        break;
      }
      case 'release': {
        const h = held;
        held = undefined;
        const t0 = mono();
        await h?.release();
        send({ ev: 'released', t0, t1: mono() });
        break;
      }
      case 'exit':
        process.exit(0);
    }
  })().catch((err) => send({ ev: 'error', message: String(err?.stack ?? err) }));
});
send({ ev: 'ready' });
