/**
 * The plugins this package ships, registered in one registry. A new subsystem is one more
 * import and line here; `dist serve` builds whatever is registered and enabled.
 */
import { contentServicePlugin } from '../services/content/plugin.js';
import { healthServicePlugin } from '../services/health/plugin.js';
import { imagesServicePlugin } from '../services/images/plugin.js';
import { introspectionServicePlugin } from '../services/introspection/plugin.js';
import { leasesServicePlugin } from '../services/leases/plugin.js';
import { versionServicePlugin } from '../services/version/plugin.js';
import { localContentPlugin } from './content/local.js';
import { remoteContentPlugin } from './content/remote.js';
import { Registry } from './registry.js';
import type { Plugin } from './types.js';

export const BUILTIN_PLUGINS: readonly Plugin[] = [
  localContentPlugin,
  remoteContentPlugin,
  contentServicePlugin,
  leasesServicePlugin,
  imagesServicePlugin,
  versionServicePlugin,
  introspectionServicePlugin,
  healthServicePlugin,
] as Plugin[];

export function builtinRegistry(): Registry {
  const r = new Registry();
  for (const p of BUILTIN_PLUGINS) r.register(p);
  return r;
}
