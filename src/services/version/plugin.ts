/** Plugin io.containerd.grpc.v1.version: what `ctr version` asks. */
import { GRPC_PLUGIN, type GrpcService, type Plugin } from '../../plugins/types.js';
import { schema, serviceDefinition, SERVICES } from '../schema.js';
import { versionService } from './service.js';

export const versionServicePlugin: Plugin<GrpcService> = {
  type: GRPC_PLUGIN,
  id: 'version',
  async init() {
    const { grpc } = await schema();
    return { name: SERVICES.version, definition: await serviceDefinition('version'), implementation: versionService(grpc.Metadata) };
  },
};
