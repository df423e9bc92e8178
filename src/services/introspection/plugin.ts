/** Plugin io.containerd.grpc.v1.introspection: the plugin list and server identity. */
import { GRPC_PLUGIN, type GrpcService, type Plugin } from '../../plugins/types.js';
import { schema, serviceDefinition, SERVICES } from '../schema.js';
import { introspectionService } from './service.js';

export const introspectionServicePlugin: Plugin<GrpcService> = {
  type: GRPC_PLUGIN,
  id: 'introspection',
  async init(ctx) {
    const { grpc } = await schema();
    return { name: SERVICES.introspection, definition: await serviceDefinition('introspection'), implementation: introspectionService(ctx.results, grpc.Metadata) };
  },
};
