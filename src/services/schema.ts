/**
 * The wire schemas (./proto/*.proto, written for this project from the protocol's facts),
 * loaded once per process with @grpc/proto-loader. Decoding options: int64 as numbers (sizes
 * stay below 2^53), enums as names, absent fields left undefined (so presence is visible:
 * containerd's clients omit zero values, and `optional` fields of ours carry explicit zeros).
 *
 * The .proto files are read at run time: from src/services/proto next to this file when run
 * from source, or from the package's src/services/proto when run compiled (dist/src/...).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { GrpcObject, ServiceClientConstructor, ServiceDefinition } from '@grpc/grpc-js';
import type { PackageDefinition } from '@grpc/proto-loader';

export const PROTO_FILES = ['content.proto', 'leases.proto', 'images.proto', 'version.proto', 'introspection.proto', 'health.proto'] as const;

export const SERVICES = {
  content: 'containerd.services.content.v1.Content',
  leases: 'containerd.services.leases.v1.Leases',
  images: 'containerd.services.images.v1.Images',
  version: 'containerd.services.version.v1.Version',
  introspection: 'containerd.services.introspection.v1.Introspection',
  health: 'grpc.health.v1.Health',
} as const;
export type ServiceName = keyof typeof SERVICES;

function protoDir(): string {
  const candidates = [new URL('./proto/', import.meta.url), new URL('../../../src/services/proto/', import.meta.url)];
  for (const c of candidates) {
    const dir = fileURLToPath(c);
    if (existsSync(`${dir}content.proto`)) return dir;
  }
  throw new Error(`cannot find the .proto files (looked in ${candidates.map((c) => fileURLToPath(c)).join(', ')})`);
}

let loaded: Promise<{ definition: PackageDefinition; grpc: typeof import('@grpc/grpc-js') }> | undefined;

/** The package definition and the grpc-js module (loaded lazily: the local CLI never pays for them). */
export function schema(): Promise<{ definition: PackageDefinition; grpc: typeof import('@grpc/grpc-js') }> {
  loaded ??= (async () => {
    const [loader, grpc] = await Promise.all([import('@grpc/proto-loader'), import('@grpc/grpc-js')]);
    const definition = loader.loadSync([...PROTO_FILES], {
      includeDirs: [protoDir()],
      keepCase: false,
      longs: Number,
      enums: String,
      defaults: false,
      arrays: true,
      objects: true,
      oneofs: true,
    });
    return { definition, grpc };
  })();
  return loaded;
}

export async function serviceDefinition(name: ServiceName): Promise<ServiceDefinition> {
  const { definition } = await schema();
  return definition[SERVICES[name]] as unknown as ServiceDefinition;
}

/** A client constructor for a service (grpc-js makes one per service definition). */
export async function clientConstructor(name: ServiceName): Promise<ServiceClientConstructor> {
  const { definition, grpc } = await schema();
  const obj = grpc.loadPackageDefinition(definition) as GrpcObject;
  let cur: unknown = obj;
  for (const part of SERVICES[name].split('.')) cur = (cur as Record<string, unknown>)[part];
  return cur as ServiceClientConstructor;
}
