/**
 * `dist serve`: the registered plugins (src/plugins/) built as the config says, their gRPC
 * services on one server. A server is one more process on the root: everything it knows is
 * on disk and guarded by the same locks as the CLI's, so any number of servers and CLIs may
 * share a root.
 *
 * Shutdown (SIGTERM, SIGINT): health turns NOT_SERVING and the server stops accepting calls;
 * open Write sessions get `graceMs` to finish, then are ended — refs released, partial data
 * kept, the client told Unavailable; calls still running after that are cancelled; plugins
 * close; the socket is removed.
 */
import { lstat, unlink } from 'node:fs/promises';
import { builtinRegistry } from '../plugins/builtin.js';
import type { Registry } from '../plugins/registry.js';
import { GRPC_PLUGIN, type GrpcService, type PluginResult } from '../plugins/types.js';
import { formatAddress, type Address } from './address.js';
import { widenWindows } from './flow-control.js';
import { listen } from './listen.js';
import { MAX_MESSAGE } from './limits.js';
import { schema } from './schema.js';


export interface ServeConfig {
  root: string;
  address: Address;
  plugins?: Record<string, Record<string, unknown>>;
  disabledPlugins?: string[];
  registry?: Registry;
}

export interface RunningServer {
  address: Address;
  results: readonly PluginResult[];
  /** Resolves once everything is closed. */
  shutdown(graceMs: number): Promise<void>;
}

export async function startServer(cfg: ServeConfig): Promise<RunningServer> {
  const { grpc } = await schema();
  const registry = cfg.registry ?? builtinRegistry();
  const results = await registry.initAll({ root: cfg.root, address: formatAddress(cfg.address), plugins: cfg.plugins, disabled: cfg.disabledPlugins });
  const services = results.filter((r) => r.status === 'ok' && r.type === GRPC_PLUGIN).map((r) => r.instance as GrpcService);
  const server = new grpc.Server({
    'grpc.max_receive_message_length': MAX_MESSAGE,
    'grpc.max_send_message_length': MAX_MESSAGE,
    // Per-call bookkeeping nobody reads here (channelz); it costs on every one of the many
    // small Reads a client like ctr makes.
    'grpc.enable_channelz': 0,
  });
  widenWindows(server);
  for (const s of services) server.addService(s.definition, s.implementation);
  let address: Address;
  try {
    address = await listen(server, cfg.address, grpc.ServerCredentials.createInsecure());
  } catch (err) {
    server.forceShutdown();
    await registry.closeAll(results);
    throw err;
  }
  const socket = address.kind === 'unix' ? await lstat(address.path).catch(() => undefined) : undefined;

  let done: Promise<void> | undefined;
  const shutdown = (graceMs: number) =>
    (done ??= (async () => {
      for (const s of services) s.stopping?.();
      const stopped = new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      const grace = new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref());
      await Promise.race([Promise.all(services.map((s) => s.drained?.())), grace]);
      await Promise.all(services.map((s) => s.release?.()));
      // Calls that are neither writes nor finished by now (a reader that stopped reading).
      const late = setTimeout(() => server.forceShutdown(), Math.min(graceMs, 2000));
      await stopped;
      clearTimeout(late);
      await registry.closeAll(results);
      if (address.kind === 'unix' && socket) {
        // Only the socket this server made (by inode): never a successor's.
        const now = await lstat(address.path).catch(() => undefined);
        if (now && now.ino === socket.ino && now.dev === socket.dev) await unlink(address.path).catch(() => {});
      }
    })());
  return { address, results, shutdown };
}
