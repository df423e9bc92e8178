/** containerd.services.version.v1.Version: the package's version (what `ctr version` prints). */
import { readFileSync } from 'node:fs';
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { unary, type MetadataCtor } from '../call.js';

/** The package version, from package.json (dist/src/services/version → ../../../../; src/… → ../../../). */
export function packageVersion(): string {
  for (const rel of ['../../../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'containerkit' && pkg.version) return pkg.version;
    } catch {
      // try the next location
    }
  }
  return 'unknown';
}

export function versionService(Md: MetadataCtor): UntypedServiceImplementation {
  const version = packageVersion();
  return {
    Version: unary(Md, 'Version', async () => ({ version, revision: `containerkit-${version}` })),
  };
}
