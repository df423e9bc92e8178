/** Walk with containerd-style filters. */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { expectError } from '../../helpers/errors.js';
import { makeFixture, type Fixture } from '../helpers/fixture.js';

export function walkTests(driver: string): void {
  describe(`${driver}: walk`, () => {
    let f: Fixture;
    const walk = async (...filters: string[]) => {
      const names: string[] = [];
      await f.sn.walk((i) => void names.push(i.name), ...filters);
      return names;
    };
    beforeAll(async () => {
      f = await makeFixture(driver);
      await f.sn.prepare('a', undefined, { labels: { 'containerd.io/gc.root': 'yes', tier: 'base' } });
      await f.sn.commit('base', 'a', { labels: { 'containerd.io/gc.root': 'yes', tier: 'base' } });
      await f.sn.prepare('b', 'base');
      await f.sn.commit('app', 'b', { labels: { tier: 'app' } });
      await f.sn.prepare('work-1', 'app', { labels: { tier: 'work' } });
      await f.sn.view('view-1', 'base');
    });
    afterAll(() => f?.cleanup());

    test('no filter: every snapshot in name order, with kind and parent', async () => {
      const infos: Array<[string, string, string | undefined]> = [];
      await f.sn.walk((i) => void infos.push([i.name, i.kind, i.parent]));
      expect(infos).toEqual([
        ['app', 'committed', 'base'],
        ['base', 'committed', undefined],
        ['view-1', 'view', 'base'],
        ['work-1', 'active', 'app'],
      ]);
    });

    test('field filters, conjunctions, alternatives, regexps, quoted label keys and presence', async () => {
      expect(await walk('kind==committed')).toEqual(['app', 'base']);
      expect(await walk('kind!=committed')).toEqual(['view-1', 'work-1']);
      expect(await walk('parent==base')).toEqual(['app', 'view-1']);
      expect(await walk('parent==base,kind==view')).toEqual(['view-1']);
      expect(await walk('kind==view', 'kind==active')).toEqual(['view-1', 'work-1']);
      expect(await walk('name~=^w')).toEqual(['work-1']);
      expect(await walk('labels.tier==app')).toEqual(['app']);
      expect(await walk('labels."containerd.io/gc.root"==yes')).toEqual(['base']);
      expect(await walk('labels."containerd.io/gc.root"')).toEqual(['base']);
      expect(await walk('parent')).toEqual(['app', 'view-1', 'work-1']);
      expect(await walk('name=="work-1"')).toEqual(['work-1']);
    });

    test('a malformed filter is InvalidArgument', async () => {
      await expectError(walk('size>3'), 'InvalidArgument', 'ERR_INVALID_FILTER');
      await expectError(walk('name~=('), 'InvalidArgument', 'ERR_INVALID_FILTER');
    });
  });
}
