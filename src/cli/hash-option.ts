import { invalidArgument } from '../errors.js';
import { nativeEngine } from '../hash/native.js';
import { smallFirstEngine } from '../hash/small-first.js';
import type { StoreOptions } from '../local/store.js';

/**
 * Store options for a streamed command's `--hash wasm|native` (ingest, pull): `native`
 * hashes with OpenSSL (no checkpoints), `wasm` the checkpointed engine (hash-wasm) once an
 * ingest passes its first MiB, OpenSSL before that (../hash/small-first.ts): a process per
 * small blob never loads WebAssembly or starts hashing threads.
 */
export function hashStoreOptions(mode: string): StoreOptions | undefined {
  if (mode !== 'wasm' && mode !== 'native') {
    throw invalidArgument('ERR_INVALID_ARGUMENT', `--hash must be wasm or native, got ${JSON.stringify(mode)}`, { actual: mode });
  }
  return { engine: mode === 'native' ? nativeEngine : smallFirstEngine };
}
