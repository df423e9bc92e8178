/** containerd.services.version.v1.Version: the package's version (what `ctr version` prints). */
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { packageVersion } from '../../package-root.js';
import { unary, type MetadataCtor } from '../call.js';

export function versionService(Md: MetadataCtor): UntypedServiceImplementation {
  const version = packageVersion();
  return {
    Version: unary(Md, 'Version', async () => ({ version, revision: `containerkit-${version}` })),
  };
}
