/** Plugin io.containerd.grpc.v1.healthcheck: grpc.health.v1, NOT_SERVING from the start of a shutdown. */
import { GRPC_PLUGIN, type GrpcService, type Plugin } from '../../plugins/types.js';
import { schema, serviceDefinition, SERVICES } from '../schema.js';
import { healthService, HealthState } from './service.js';

export const healthServicePlugin: Plugin<GrpcService> = {
  type: GRPC_PLUGIN,
  id: 'healthcheck',
  async init(ctx) {
    const { grpc } = await schema();
    const state = new HealthState(() =>
      ctx
        .results()
        .filter((r) => r.status === 'ok' && r.type === GRPC_PLUGIN)
        .map((r) => (r.instance as GrpcService).name),
    );
    return {
      name: SERVICES.health,
      definition: await serviceDefinition('health'),
      implementation: healthService(state, grpc.Metadata),
      stopping: () => state.stop(),
    };
  },
};
