/** Plugin io.containerd.grpc.v1.leases: the leases service over the root's leases (needs the local store). */
import type { LocalStore } from '../../local/store.js';
import { CONTENT_PLUGIN, GRPC_PLUGIN, type GrpcService, type Plugin } from '../../plugins/types.js';
import { schema, serviceDefinition, SERVICES } from '../schema.js';
import { leasesService } from './service.js';

export const leasesServicePlugin: Plugin<GrpcService> = {
  type: GRPC_PLUGIN,
  id: 'leases',
  requires: [`${CONTENT_PLUGIN}.local`],
  async init(ctx) {
    const { grpc } = await schema();
    return { name: SERVICES.leases, definition: await serviceDefinition('leases'), implementation: leasesService(ctx.get<LocalStore>(CONTENT_PLUGIN, 'local'), grpc.Metadata) };
  },
};
