/**
 * The snapshotter conformance suite: every driver must pass all of it. A driver's test file
 * calls `snapshotterSuite(driver)`.
 */
import { chainTests } from './chain.js';
import { lifecycleTests } from './lifecycle.js';
import { multiProcessTests } from './multiprocess.js';
import { rulesTests } from './rules.js';
import { walkTests } from './walk.js';

export function snapshotterSuite(driver: string): void {
  lifecycleTests(driver);
  rulesTests(driver);
  chainTests(driver);
  walkTests(driver);
  multiProcessTests(driver);
}
