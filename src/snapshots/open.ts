/**
 * Opens the snapshotter of a store root by driver name. `overlay` needs overlayfs mounts to
 * work for this process (probed once: root, kernel support, mount(8)); the default is
 * overlay where the probe passes, naive elsewhere.
 */
import { failedPrecondition, invalidArgument } from '../errors.js';
import type { MetadataOptions } from './metadata.js';
import { probeOverlay } from './mount.js';
import { naiveDriver } from './naive.js';
import { overlayDriver } from './overlay.js';
import { StoreSnapshotter } from './snapshotter.js';

export const DRIVERS = ['naive', 'overlay'] as const;
export type DriverName = (typeof DRIVERS)[number];

export async function defaultDriver(): Promise<DriverName> {
  return (await probeOverlay()) === undefined ? 'overlay' : 'naive';
}

export async function openSnapshotter(root: string, driver?: string, options?: MetadataOptions): Promise<StoreSnapshotter> {
  const name = driver ?? (await defaultDriver());
  if (name === 'naive') return new StoreSnapshotter(root, naiveDriver, options);
  if (name === 'overlay') {
    const why = await probeOverlay();
    if (why !== undefined) throw failedPrecondition('ERR_OVERLAY_UNAVAILABLE', `the overlay snapshotter cannot mount here: ${why}`, { actual: why });
    return new StoreSnapshotter(root, overlayDriver, options);
  }
  throw invalidArgument('ERR_UNKNOWN_SNAPSHOTTER', `unknown snapshotter ${JSON.stringify(name)} (expected ${DRIVERS.join(' or ')})`, { actual: name });
}
