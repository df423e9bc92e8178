/**
 * Plugin io.containerd.grpc.v1.content: the content service over a content store plugin
 * (config `store`: its id, default `local`). At shutdown its open Write sessions release
 * their refs (partial data kept for a resume).
 */
import type { Store } from '../../content/types.js';
import { CONTENT_PLUGIN, GRPC_PLUGIN, type GrpcService, type Plugin } from '../../plugins/types.js';
import { schema, serviceDefinition, SERVICES } from '../schema.js';
import { ContentBacking } from './backing.js';
import { BlobReaders } from './blob-readers.js';
import { contentService } from './service.js';
import { WriteSessions } from './write.js';

export const contentServicePlugin: Plugin<GrpcService> = {
  type: GRPC_PLUGIN,
  id: 'content',
  requires: [CONTENT_PLUGIN],
  async init(ctx) {
    const id = typeof ctx.config.store === 'string' ? ctx.config.store : 'local';
    const store = ctx.get<Store>(CONTENT_PLUGIN, id);
    ctx.exports.store = `${CONTENT_PLUGIN}.${id}`;
    const { grpc } = await schema();
    const sessions = new WriteSessions();
    const backing = new ContentBacking(store);
    const readers = backing.local ? new BlobReaders(backing.local.root) : undefined;
    return {
      name: SERVICES.content,
      definition: await serviceDefinition('content'),
      implementation: contentService(backing, grpc.Metadata, sessions, readers),
      drained: () => sessions.drained(),
      release: async () => {
        await sessions.release();
        readers?.closeAll();
      },
    };
  },
};
