/**
 * The plugin contract: a subsystem registers under a type and an id, names what it needs
 * (types, or `type.id`), and is built by `init` from its context. `dist serve` builds every
 * registered plugin its config enables, in dependency order (./registry.ts); a plugin that
 * cannot run here says so by throwing SkipPlugin.
 *
 * Types (containerd's names):
 *   io.containerd.content.v1      content stores: local (this root), remote (a server)
 *   io.containerd.grpc.v1         gRPC services: content, leases, images, version,
 *                                 introspection, healthcheck
 *   io.containerd.snapshotter.v1  snapshotters (to come)
 */
import type { ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';

export const CONTENT_PLUGIN = 'io.containerd.content.v1';
export const GRPC_PLUGIN = 'io.containerd.grpc.v1';
export const SNAPSHOTTER_PLUGIN = 'io.containerd.snapshotter.v1';

export interface PluginContext {
  /** The store root the server runs on. */
  root: string;
  /** Where the server listens (for exports). */
  address: string;
  /** This plugin's section of the config (`plugins["<type>.<id>"]`), {} when absent. */
  config: Record<string, unknown>;
  /** An initialised plugin of `type` (the one with `id`, else the only or first one). */
  get<T>(type: string, id?: string): T;
  /** Every initialised plugin of `type`, by id. */
  getAll<T>(type: string): Map<string, T>;
  /** The outcome of every plugin, read when asked (introspection). */
  results(): readonly PluginResult[];
  /** Extra properties this plugin reports (`ctr plugins ls -d` shows them). */
  exports: Record<string, string>;
}

export interface Plugin<T = unknown> {
  type: string;
  id: string;
  /** Types (every plugin of that type comes first) or `type.id`. */
  requires?: string[];
  capabilities?: string[];
  init(ctx: PluginContext): Promise<T> | T;
  /** Ends the instance (at shutdown, in reverse order of init). */
  close?(instance: T): Promise<void> | void;
}

/** A gRPC service plugin's instance. */
export interface GrpcService {
  name: string;
  definition: ServiceDefinition;
  implementation: UntypedServiceImplementation;
  /** The server starts shutting down: new work is refused from now on. */
  stopping?(): void;
  /** Resolves once this service's long-lived calls (Write sessions) ended by themselves. */
  drained?(): Promise<void>;
  /** Ends those calls now (the shutdown's grace period is over): refs released, data kept. */
  release?(): Promise<void>;
}

export type PluginStatus = 'ok' | 'skipped' | 'error' | 'disabled';

export interface PluginResult {
  type: string;
  id: string;
  requires: string[];
  capabilities: string[];
  exports: Record<string, string>;
  status: PluginStatus;
  /** Why it was skipped, disabled or failed. */
  reason?: string;
  instance?: unknown;
}

/** Thrown by `init`: the plugin does not apply here (not an error). */
export class SkipPlugin extends Error {
  constructor(reason: string) {
    super(`skip plugin: ${reason}`);
  }
}
