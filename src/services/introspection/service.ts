/**
 * containerd.services.introspection.v1.Introspection: the plugins and their status (what
 * `ctr plugins ls` and `dist --address … plugins` list), and this server's identity (a UUID
 * per server process: several servers may share a root, and each is its own instance).
 */
import { randomUUID } from 'node:crypto';
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import type { PluginResult } from '../../plugins/types.js';
import { unary, type MetadataCtor } from '../call.js';
import { parseFilters } from '../filters.js';
import type { WirePlugin } from '../messages.js';

export function pluginToWire(r: PluginResult): WirePlugin {
  return {
    type: r.type,
    id: r.id,
    requires: r.requires,
    platforms: [],
    exports: r.exports,
    capabilities: r.capabilities,
    // UNKNOWN (2), as containerd reports an init error; ctr tells skips by the message.
    ...(r.status !== 'ok' ? { initErr: { code: 2, message: r.reason ?? r.status } } : {}),
  };
}

export function introspectionService(results: () => readonly PluginResult[], Md: MetadataCtor): UntypedServiceImplementation {
  const uuid = randomUUID();
  return {
    Plugins: unary(Md, 'Introspection.Plugins', async (req: { filters?: string[] }) => {
      const match = parseFilters(req.filters);
      const plugins = results().filter((r) => match((p) => (p.length !== 1 ? undefined : p[0] === 'type' ? r.type : p[0] === 'id' ? r.id : undefined)));
      return { plugins: plugins.map(pluginToWire) };
    }),
    Server: unary(Md, 'Introspection.Server', async () => ({ uuid })),
  };
}
