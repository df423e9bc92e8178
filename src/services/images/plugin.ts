/** Plugin io.containerd.grpc.v1.images: the images service over the root's index.json (needs the local store). */
import type { LocalStore } from '../../local/store.js';
import { CONTENT_PLUGIN, GRPC_PLUGIN, type GrpcService, type Plugin } from '../../plugins/types.js';
import { schema, serviceDefinition, SERVICES } from '../schema.js';
import { imagesService } from './service.js';

export const imagesServicePlugin: Plugin<GrpcService> = {
  type: GRPC_PLUGIN,
  id: 'images',
  requires: [`${CONTENT_PLUGIN}.local`],
  async init(ctx) {
    const { grpc } = await schema();
    return { name: SERVICES.images, definition: await serviceDefinition('images'), implementation: imagesService(ctx.get<LocalStore>(CONTENT_PLUGIN, 'local'), grpc.Metadata) };
  },
};
