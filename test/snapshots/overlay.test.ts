/**
 * The conformance suite on the overlay driver, where overlayfs mounts work for this process
 * (root, kernel support). Elsewhere the suite is reported as skipped with the probe's reason
 * in its title and on stderr — never silently.
 */
import { describe, test } from 'vitest';
import { probeOverlay } from '../../src/snapshots/mount.js';
import { snapshotterSuite } from './suite/index.js';

const why = await probeOverlay();
if (why === undefined) snapshotterSuite('overlay');
else {
  process.stderr.write(`overlay snapshotter NOT exercised: ${why}\n`);
  describe.skip(`overlay snapshotter not exercised here: ${why}`, () => test('conformance suite', () => {}));
}
