/**
 * The plugin registry: dependency order, statuses (ok, skipped, disabled, error), cycles,
 * duplicate ids — and that a newly registered gRPC service is served by startServer with no
 * change to the server (here a Version service of a test plugin, asked by `ctr version`).
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { builtinRegistry } from '../../src/plugins/builtin.js';
import { Registry } from '../../src/plugins/registry.js';
import { GRPC_PLUGIN, SkipPlugin, type GrpcService, type Plugin } from '../../src/plugins/types.js';
import { parseAddress } from '../../src/services/address.js';
import { unary } from '../../src/services/call.js';
import { schema, serviceDefinition } from '../../src/services/schema.js';
import { startServer } from '../../src/services/server.js';
import { expectError } from '../helpers/errors.js';
import { cleanupAll, makeTempDir } from '../helpers/tmp.js';
import { ctr, ok } from './helpers/ctr.js';

afterAll(cleanupAll);

const plugin = (type: string, id: string, requires: string[] = [], init: Plugin['init'] = () => `${type}.${id}`): Plugin => ({ type, id, requires, init });

describe('registry', () => {
  it('builds plugins after what they require, whatever the registration order, and closes them in reverse', async () => {
    const r = new Registry();
    const order: string[] = [];
    const closed: string[] = [];
    const mk = (type: string, id: string, requires: string[] = []): Plugin => ({
      type,
      id,
      requires,
      init: (ctx) => {
        order.push(`${type}.${id}`);
        for (const req of requires) if (!req.includes('.x.')) ctx.getAll(req); // dependencies are there by now
        return `${type}.${id}`;
      },
      close: (i) => void closed.push(i as string),
    });
    r.register(mk('svc', 'b', ['store']));
    r.register(mk('svc', 'a', ['store.local', 'svc.b']));
    r.register(mk('store', 'local'));
    r.register(mk('store', 'remote'));
    const results = await r.initAll({ root: '/', address: '' });
    expect(order.indexOf('store.local')).toBeLessThan(order.indexOf('svc.b'));
    expect(order.indexOf('store.remote')).toBeLessThan(order.indexOf('svc.b'));
    expect(order.indexOf('svc.b')).toBeLessThan(order.indexOf('svc.a'));
    expect(results.every((x) => x.status === 'ok')).toBe(true);
    await r.closeAll(results);
    expect(closed).toEqual([...order].reverse());
  });

  it('records skipped (SkipPlugin, or a requirement that did not start), disabled and failed plugins, and keeps building the rest', async () => {
    const r = new Registry();
    r.register(plugin('store', 'remote', [], () => {
      throw new SkipPlugin('no address configured');
    }));
    r.register(plugin('svc', 'needs-remote', ['store.remote']));
    r.register(plugin('svc', 'broken', [], () => {
      throw new Error('boom');
    }));
    r.register(plugin('svc', 'off'));
    r.register(plugin('svc', 'fine'));
    r.register(plugin('svc', 'configured', [], (ctx) => ctx.config.answer));
    const results = await r.initAll({ root: '/', address: '', disabled: ['svc.off'], plugins: { 'svc.configured': { answer: 42 } } });
    const by = Object.fromEntries(results.map((x) => [x.id, x]));
    expect(by.remote).toMatchObject({ status: 'skipped', reason: 'skip plugin: no address configured' });
    expect(by['needs-remote']).toMatchObject({ status: 'skipped' });
    expect(by['needs-remote']!.reason).toContain('store.remote');
    expect(by.broken).toMatchObject({ status: 'error', reason: 'boom' });
    expect(by.off).toMatchObject({ status: 'disabled' });
    expect(by.fine).toMatchObject({ status: 'ok', instance: 'svc.fine' });
    expect(by.configured).toMatchObject({ status: 'ok', instance: 42 });
  });

  it('refuses a cycle and a second plugin with the same type and id', async () => {
    const r = new Registry();
    r.register(plugin('a', '1', ['b']));
    r.register(plugin('b', '1', ['a.1']));
    await expectError(r.initAll({ root: '/', address: '' }), 'InvalidArgument', 'ERR_PLUGIN_CYCLE');
    expect(() => r.register(plugin('a', '1'))).toThrow(/registered twice/);
  });

  it('the built-in registry has the local and remote stores and every service as plugins', () => {
    const ids = builtinRegistry()
      .list()
      .map((p) => `${p.type}.${p.id}`);
    expect(ids).toEqual(
      expect.arrayContaining([
        'io.containerd.content.v1.local',
        'io.containerd.content.v1.remote',
        'io.containerd.grpc.v1.content',
        'io.containerd.grpc.v1.leases',
        'io.containerd.grpc.v1.images',
        'io.containerd.grpc.v1.version',
        'io.containerd.grpc.v1.introspection',
        'io.containerd.grpc.v1.healthcheck',
      ]),
    );
  });
});

describe('a new service plugin needs no change to the server', () => {
  it('a registered Version service of a test plugin answers ctr version', async () => {
    const tmp = await makeTempDir('ck-plugin-');
    const registry = builtinRegistry();
    // Replace the built-in version service by registering another under its own id and
    // disabling the built-in one: both are plugins of the same type.
    const custom: Plugin<GrpcService> = {
      type: GRPC_PLUGIN,
      id: 'test-version',
      async init() {
        const { grpc } = await schema();
        return {
          name: 'containerd.services.version.v1.Version',
          definition: await serviceDefinition('version'),
          implementation: { Version: unary(grpc.Metadata, 'Version', async () => ({ version: '9.9.9-test', revision: 'plugin' })) },
        };
      },
    };
    registry.register(custom);
    const sock = join(tmp.dir, 'p.sock');
    const server = await startServer({ root: join(tmp.dir, 'root'), address: parseAddress(`unix://${sock}`), registry, disabledPlugins: ['io.containerd.grpc.v1.version'] });
    try {
      const v = ok(await ctr(sock, ['version']), 'version');
      expect(v.stdout).toMatch(/Server:\s+Version:\s+9\.9\.9-test\s+Revision: plugin/);
      const p = ok(await ctr(sock, ['plugins', 'ls']), 'plugins');
      expect(p.stdout).toMatch(/io\.containerd\.grpc\.v1\s+test-version\s+-\s+ok/);
    } finally {
      await server.shutdown(1000);
    }
  });
});
