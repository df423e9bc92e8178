/**
 * The content store conformance suite: every Store implementation registers it with a
 * factory for fresh, empty stores, e.g.
 *
 *   contentStoreSuite('local store', async () => { … return { store, cleanup } });
 *
 * Modelled on containerd's content test suite (core/content/testsuite): Writer,
 * UpdateStatus, CommitExists, Resume, the five resume strategies of writeBlob, SmallBlob,
 * CommitErrorState and Walk, plus this project's contract (ref locking, waiting, abort).
 */
import { describe } from 'vitest';
import { commitTests } from './commit.js';
import type { StoreFactory } from './fixture.js';
import { readTests } from './read.js';
import { resumeTests } from './resume.js';
import { walkTests } from './walk.js';
import { writerTests } from './writer.js';

export type { StoreFactory, StoreFixture } from './fixture.js';

export function contentStoreSuite(name: string, factory: StoreFactory): void {
  describe(`content store conformance: ${name}`, () => {
    writerTests(factory);
    commitTests(factory);
    resumeTests(factory);
    readTests(factory);
    walkTests(factory);
  });
}
