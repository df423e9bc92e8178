/**
 * `dist serve` as a process: addresses (Unix sockets, the loopback), a socket in use by a
 * live server, a dead server's socket, graceful shutdown with open writes, health, and the
 * config file.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openRemoteStore } from '../../src/remote-store/store.js';
import { Connection } from '../../src/remote-store/connect.js';
import { digestOf, randomBytes } from '../helpers/bytes.js';
import { runCli } from '../helpers/cli.js';
import { expectError } from '../helpers/errors.js';
import { cleanupAll, makeTempDir } from '../helpers/tmp.js';
import { ctr, ok } from './helpers/ctr.js';
import { startServe } from './helpers/serve.js';

afterAll(cleanupAll);

describe('addresses', () => {
  it('a socket in use by a live server is refused (exit 5); the live server keeps serving', async () => {
    const tmp = await makeTempDir('ck-serve-');
    const sock = join(tmp.dir, 'dist.sock');
    const first = await startServe(join(tmp.dir, 'root'), `unix://${sock}`);
    try {
      const second = await runCli(['serve', '--address', `unix://${sock}`], { root: join(tmp.dir, 'root2') });
      expect(second.code).toBe(5);
      expect(second.stderr).toMatch(/^dist: unix:\/\/.*dist\.sock is in use by a live server/);
      ok(await ctr(sock, ['version']), 'first server still answers');
    } finally {
      expect((await first.stop()).code).toBe(0);
    }
    expect(existsSync(sock)).toBe(false); // removed at shutdown
  });

  it('a dead server\'s socket is replaced; a file that is not a socket is never removed (exit 6)', async () => {
    const tmp = await makeTempDir('ck-serve-');
    const sock = join(tmp.dir, 'dist.sock');
    const killed = await startServe(join(tmp.dir, 'root'), `unix://${sock}`);
    killed.proc.kill('SIGKILL');
    await killed.exited;
    expect(existsSync(sock)).toBe(true); // left behind
    const next = await startServe(join(tmp.dir, 'root'), `unix://${sock}`);
    ok(await ctr(sock, ['version']), 'the replacement answers');
    expect((await next.stop()).code).toBe(0);

    const file = join(tmp.dir, 'not-a-socket');
    await writeFile(file, 'precious');
    const r = await runCli(['serve', '--address', file], { root: join(tmp.dir, 'root') });
    expect(r.code).toBe(6);
    expect(r.stderr).toContain('is not a socket');
    expect(await readFile(file, 'utf8')).toBe('precious');
  });

  it('serves on the loopback (port 0 picks one) and refuses other interfaces (exit 7); no address is a usage error', async () => {
    const tmp = await makeTempDir('ck-serve-');
    const served = await startServe(join(tmp.dir, 'root'), '127.0.0.1:0');
    try {
      expect(served.address).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(served.address).not.toBe('127.0.0.1:0');
      const ing = await runCli(['--address', served.address, 'ingest', 'over-tcp'], { input: 'hello tcp' });
      expect(ing.code, ing.stderr).toBe(0);
      expect(ing.stdout.trim()).toBe(digestOf('hello tcp'));
    } finally {
      await served.stop();
    }
    const wide = await runCli(['serve', '--address', '0.0.0.0:0'], { root: join(tmp.dir, 'root') });
    expect(wide.code).toBe(7);
    expect(wide.stderr).toContain('loopback');
    const none = await runCli(['serve'], { root: join(tmp.dir, 'root') });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('needs an address');
  });
});

describe('shutdown', () => {
  it('SIGTERM: a write finishing within the grace period commits, then the server exits 0 and removes its socket', async () => {
    const tmp = await makeTempDir('ck-serve-');
    const served = await startServe(join(tmp.dir, 'root'), `unix://${join(tmp.dir, 'dist.sock')}`, { extraArgs: ['--grace', '10s'] });
    const store = await openRemoteStore(served.address);
    const data = randomBytes(200_000);
    try {
      const w = await store.writer({ ref: 'finishing' });
      await w.write(data.subarray(0, 100_000));
      served.proc.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 300));
      // New calls are refused from now on…
      const late = await ctr(served.socket!, ['--connect-timeout', '1s', 'version'], { timeoutMs: 15_000 });
      expect(late.code).not.toBe(0);
      // …but the open session finishes.
      await w.write(data.subarray(100_000));
      expect(await w.commit()).toBe(digestOf(data));
    } finally {
      await store.close();
    }
    const e = await served.exited;
    expect(e.code, served.stderr).toBe(0);
    expect(existsSync(served.socket!)).toBe(false);
    const info = await runCli(['info', digestOf(data)], { root: join(tmp.dir, 'root') });
    expect(info.code, info.stderr).toBe(0);
  });

  it('SIGTERM: a write still open after the grace period is released with its data kept; the client hears Unavailable; a later writer resumes it', async () => {
    const tmp = await makeTempDir('ck-serve-');
    const root = join(tmp.dir, 'root');
    const served = await startServe(root, `unix://${join(tmp.dir, 'dist.sock')}`, { extraArgs: ['--grace', '500ms'] });
    const store = await openRemoteStore(served.address);
    const data = randomBytes(300_000);
    try {
      const w = await store.writer({ ref: 'left-open', total: data.length });
      await w.write(data.subarray(0, 120_000));
      const t0 = Date.now();
      served.proc.kill('SIGTERM');
      const e = await served.exited;
      expect(e.code, served.stderr).toBe(0);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(400);
      const err = await expectError(w.write(data.subarray(120_000)), 'Unavailable');
      expect(err.message).toMatch(/shutting down|left-open|server/);
      await w.close();
    } finally {
      await store.close();
    }
    const st = JSON.parse((await runCli(['active', '--json'], { root })).stdout) as Array<{ ref: string; offset: number; state: string }>;
    expect(st).toEqual([expect.objectContaining({ ref: 'left-open', offset: 120_000, state: 'idle' })]);
    const resumed = await runCli(['ingest', '--expected-digest', digestOf(data), 'left-open'], { root, input: data });
    expect(resumed.code, resumed.stderr).toBe(0);
  });

  it('a second signal exits at once', async () => {
    const tmp = await makeTempDir('ck-serve-');
    const served = await startServe(join(tmp.dir, 'root'), `unix://${join(tmp.dir, 'dist.sock')}`, { extraArgs: ['--grace', '60s'] });
    const store = await openRemoteStore(served.address);
    try {
      const w = await store.writer({ ref: 'blocking-shutdown' });
      await w.write(randomBytes(10));
      served.proc.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 300));
      served.proc.kill('SIGINT');
      const e = await served.exited;
      expect(e.code).toBe(1);
      expect(served.stderr).toContain('again');
    } finally {
      await store.close();
    }
  });
});

describe('health and config', () => {
  it('grpc.health.v1 answers SERVING; the config file disables plugins and sets options; bad configs are refused', async () => {
    const tmp = await makeTempDir('ck-serve-');
    const config = join(tmp.dir, 'config.json');
    await writeFile(config, JSON.stringify({ disabledPlugins: ['io.containerd.grpc.v1.images'], plugins: { 'io.containerd.content.v1.local': { hash: 'wasm' } } }));
    const served = await startServe(join(tmp.dir, 'root'), `unix://${join(tmp.dir, 'dist.sock')}`, { extraArgs: ['--config', config] });
    try {
      const conn = await Connection.open(served.address);
      try {
        expect(await conn.unary<{ status: string }>('health', 'Check', { service: '' })).toEqual({ status: 'SERVING' });
        expect(await conn.unary<{ status: string }>('health', 'Check', { service: 'containerd.services.content.v1.Content' })).toEqual({ status: 'SERVING' });
        await expectError(conn.unary('health', 'Check', { service: 'containerd.services.images.v1.Images' }), 'NotFound');
      } finally {
        conn.close();
      }
      const images = await ctr(served.socket!, ['images', 'ls']);
      expect(images.code).not.toBe(0);
      expect(images.stderr).toMatch(/unimplemented|Unimplemented|not implemented/i);
      const plugins = JSON.parse((await runCli(['--address', served.address, 'plugins', '--json'])).stdout) as Array<{ id: string; status: string; exports: Record<string, string> }>;
      expect(plugins.find((p) => p.id === 'images')?.status).toBe('disabled');
      expect(plugins.find((p) => p.id === 'local')?.exports.hash).toBe('wasm');
      // The same list without a server: what `dist serve` would build here.
      const local = JSON.parse((await runCli(['plugins', '--json', '--config', config], { root: join(tmp.dir, 'root') })).stdout) as Array<{ id: string; status: string }>;
      expect(local.map((p) => [p.id, p.status])).toEqual(plugins.map((p) => [p.id, p.status]));
    } finally {
      await served.stop();
    }
    await writeFile(config, JSON.stringify({ disabledPlugin: [] }));
    const bad = await runCli(['serve', '--address', `unix://${join(tmp.dir, 'x.sock')}`, '--config', config], { root: join(tmp.dir, 'root') });
    expect(bad.code).toBe(7);
    expect(bad.stderr).toContain('unknown key "disabledPlugin"');
  });
});

describe('the CLI refuses an address where it cannot use one', () => {
  it('local-only commands with --address or DIST_ADDRESS are usage errors (exit 2)', async () => {
    for (const args of [['--address', 'unix:///nowhere.sock', 'gc'], ['--address', '/nowhere.sock', 'prune'], ['--address', '127.0.0.1:1', 'pull', 'x']]) {
      const r = await runCli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain('local store root only');
    }
    const env = await runCli(['lease', 'ls'], { env: { DIST_ADDRESS: 'unix:///nowhere.sock' } });
    expect(env.code).toBe(2);
  });

  it('a server that is not there: exit 5 naming the address', async () => {
    const r = await runCli(['--address', 'unix:///nonexistent-dir/dist.sock', 'list']);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('unix:///nonexistent-dir/dist.sock');
  });
});

