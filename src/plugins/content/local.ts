/**
 * Plugin io.containerd.content.v1.local: the store on the server's root (src/local/).
 *
 * Config: `hash` — `native` (default: OpenSSL; a gRPC client on this machine sends faster
 * than hash-wasm hashes, and a resumed ingest re-hashes its partial data at OpenSSL speed)
 * or `wasm` (hash-wasm in worker threads, checkpointed: a resume re-hashes nothing);
 * `staleMs` — lock staleness for holders on other hosts (default: DIST_LOCK_STALE_MS, else
 * the store's 10 s).
 */
import { invalidArgument } from '../../errors.js';
import { closeDefaultEngine } from '../../hash/engine.js';
import { nativeEngine } from '../../hash/native.js';
import { openStore, type LocalStore } from '../../local/store.js';
import { CONTENT_PLUGIN, type Plugin } from '../types.js';

export const localContentPlugin: Plugin<LocalStore> = {
  type: CONTENT_PLUGIN,
  id: 'local',
  init(ctx) {
    const hash = ctx.config.hash ?? 'native';
    if (hash !== 'native' && hash !== 'wasm') throw invalidArgument('ERR_INVALID_CONFIG', `content store hash must be native or wasm, got ${JSON.stringify(hash)}`, {});
    const staleMs = ctx.config.staleMs;
    if (staleMs !== undefined && !(Number.isSafeInteger(staleMs) && (staleMs as number) >= 2000)) {
      throw invalidArgument('ERR_INVALID_CONFIG', `content store staleMs must be an integer of at least 2000, got ${JSON.stringify(staleMs)}`, {});
    }
    const store = openStore(ctx.root, { ...(hash === 'native' ? { engine: nativeEngine } : {}), ...(staleMs !== undefined ? { lock: { staleMs: staleMs as number } } : {}) });
    ctx.exports.root = store.root;
    ctx.exports.hash = hash;
    return store;
  },
  async close(store) {
    await store.close();
    await closeDefaultEngine();
  },
};
