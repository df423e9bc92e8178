/**
 * Plugin io.containerd.content.v1.remote: the content store of another server
 * (src/remote-store/), e.g. to serve it on another socket. Config: `address` (required:
 * skipped without one).
 */
import type { Store } from '../../content/types.js';
import { openRemoteStore } from '../../remote-store/store.js';
import { CONTENT_PLUGIN, SkipPlugin, type Plugin } from '../types.js';

export const remoteContentPlugin: Plugin<Store> = {
  type: CONTENT_PLUGIN,
  id: 'remote',
  async init(ctx) {
    const address = ctx.config.address;
    if (typeof address !== 'string' || !address) throw new SkipPlugin('no address configured');
    const store = await openRemoteStore(address);
    ctx.exports.address = address;
    return store;
  },
  async close(store) {
    await store.close();
  },
};
