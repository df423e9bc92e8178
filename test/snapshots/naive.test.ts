/** The conformance suite on the naive driver (works everywhere). */
import { snapshotterSuite } from './suite/index.js';

snapshotterSuite('naive');
