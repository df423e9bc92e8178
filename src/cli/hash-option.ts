import { invalidArgument } from '../errors.js';
import { nativeEngine } from '../hash/native.js';
import type { StoreOptions } from '../local/store.js';

/**
 * Store options for a streamed command's `--hash wasm|native` (ingest, pull): `native`
 * hashes with OpenSSL (no checkpoints), `wasm` uses the default checkpointed engine.
 */
export function hashStoreOptions(mode: string): StoreOptions | undefined {
  if (mode !== 'wasm' && mode !== 'native') {
    throw invalidArgument('ERR_INVALID_ARGUMENT', `--hash must be wasm or native, got ${JSON.stringify(mode)}`, { actual: mode });
  }
  return mode === 'native' ? { engine: nativeEngine } : undefined;
}
