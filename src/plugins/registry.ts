/**
 * The plugin registry: plugins register by type and id (./builtin.ts registers ours), and
 * `initAll` builds them in dependency order — a plugin requiring a type comes after every
 * plugin of that type — recording each one's status: ok, skipped (it threw SkipPlugin, or
 * something it requires is not there), disabled (by the config) or error. Nothing here knows
 * any particular plugin: adding one is registering it.
 */
import { invalidArgument } from '../errors.js';
import { SkipPlugin, type Plugin, type PluginContext, type PluginResult } from './types.js';

export interface InitOptions {
  root: string;
  address: string;
  /** Per-plugin config, keyed `<type>.<id>`. */
  plugins?: Record<string, Record<string, unknown>>;
  /** `<type>.<id>` of plugins not to build. */
  disabled?: readonly string[];
}

const keyOf = (p: { type: string; id: string }) => `${p.type}.${p.id}`;

export class Registry {
  private readonly plugins: Plugin[] = [];

  register(p: Plugin): void {
    if (!p.type || !p.id) throw invalidArgument('ERR_INVALID_PLUGIN', 'a plugin needs a type and an id', {});
    if (this.plugins.some((q) => keyOf(q) === keyOf(p))) {
      throw invalidArgument('ERR_PLUGIN_EXISTS', `plugin ${keyOf(p)} is registered twice`, { actual: keyOf(p) });
    }
    this.plugins.push(p);
  }

  list(): readonly Plugin[] {
    return this.plugins;
  }

  /** Plugins in an order where each comes after what it requires (InvalidArgument on a cycle). */
  ordered(): Plugin[] {
    const out: Plugin[] = [];
    const state = new Map<Plugin, 'visiting' | 'done'>();
    const needs = (p: Plugin) =>
      (p.requires ?? []).flatMap((r) => this.plugins.filter((q) => q !== p && (q.type === r || keyOf(q) === r)));
    const visit = (p: Plugin, path: string[]) => {
      const s = state.get(p);
      if (s === 'done') return;
      if (s === 'visiting') throw invalidArgument('ERR_PLUGIN_CYCLE', `plugins require each other: ${[...path, keyOf(p)].join(' → ')}`, {});
      state.set(p, 'visiting');
      for (const q of needs(p)) visit(q, [...path, keyOf(p)]);
      state.set(p, 'done');
      out.push(p);
    };
    for (const p of this.plugins) visit(p, []);
    return out;
  }

  async initAll(opts: InitOptions): Promise<PluginResult[]> {
    const results: PluginResult[] = [];
    const ok = (type: string) => results.filter((r) => r.status === 'ok' && r.type === type);
    for (const p of this.ordered()) {
      const exports: Record<string, string> = {};
      const result: PluginResult = { type: p.type, id: p.id, requires: p.requires ?? [], capabilities: p.capabilities ?? [], exports, status: 'ok' };
      results.push(result);
      if (opts.disabled?.includes(keyOf(p))) {
        result.status = 'disabled';
        result.reason = 'disabled by the config';
        continue;
      }
      const unmet = (p.requires ?? []).filter((r) => !results.some((q) => q.status === 'ok' && (q.type === r || keyOf(q) === r)));
      if (unmet.length) {
        result.status = 'skipped';
        result.reason = `skip plugin: requires ${unmet.join(', ')}, which did not start`;
        continue;
      }
      const ctx: PluginContext = {
        root: opts.root,
        address: opts.address,
        config: opts.plugins?.[keyOf(p)] ?? {},
        exports,
        results: () => results,
        getAll: <T>(type: string) => new Map(ok(type).map((r) => [r.id, r.instance as T])),
        get: <T>(type: string, id?: string) => {
          const all = ok(type);
          const hit = id !== undefined ? all.find((r) => r.id === id) : all[0];
          if (!hit) throw new SkipPlugin(`no ${id !== undefined ? `${type}.${id}` : type} plugin is running`);
          return hit.instance as T;
        },
      };
      try {
        result.instance = await p.init(ctx);
      } catch (err) {
        result.status = err instanceof SkipPlugin ? 'skipped' : 'error';
        result.reason = (err as Error)?.message ?? String(err);
      }
    }
    return results;
  }

  /** Closes the instances that started, last first. */
  async closeAll(results: readonly PluginResult[]): Promise<void> {
    for (const r of [...results].reverse()) {
      if (r.status !== 'ok') continue;
      const p = this.plugins.find((q) => q.type === r.type && q.id === r.id);
      await Promise.resolve(p?.close?.(r.instance)).catch(() => {});
    }
  }
}
