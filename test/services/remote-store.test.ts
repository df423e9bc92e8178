/**
 * The content store conformance suite (test/suite/, unchanged) over the remote store: each
 * test gets a fresh root served by a real `dist serve` process, reached through its socket.
 */
import { afterAll } from 'vitest';
import { openRemoteStore } from '../../src/remote-store/store.js';
import { cleanupAll, makeTempDir } from '../helpers/tmp.js';
import { contentStoreSuite } from '../suite/index.js';
import { startServe } from './helpers/serve.js';

afterAll(cleanupAll);

contentStoreSuite('remote store (dist serve)', async () => {
  const tmp = await makeTempDir('ck-remote-');
  const served = await startServe(`${tmp.dir}/root`, `unix://${tmp.dir}/dist.sock`);
  const store = await openRemoteStore(served.address);
  return {
    store,
    async cleanup() {
      await store.close();
      const e = await served.stop();
      await tmp.cleanup();
      if (e.code !== 0) throw new Error(`dist serve exited ${e.code ?? e.signal}; stderr: ${served.stderr}`);
    },
  };
});
