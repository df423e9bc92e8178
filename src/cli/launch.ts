#!/usr/bin/env node
/**
 * The `dist` bin as `npm run build` makes it: scripts/bundle-cli.mjs bundles this file to
 * dist/src/cli/main.js, and the whole CLI (src/cli/main.ts with the code of every command
 * and package it uses, piscina apart) to dist/src/cli/cli.cjs. This file runs that bundle
 * with V8's code cache (dist/src/cli/cli.cjs.cache, written by the build), so a `dist`
 * process neither resolves and reads ~100 modules nor compiles the code it runs: issue 15
 * measured module loading as most of a small ingest's time, and the seed runs one process
 * per blob. Node 20 has no compile cache of its own (module.enableCompileCache is Node 22).
 *
 * The cache is only an optimisation: it is used only when it was made from this very
 * bundle (the build id on the bundle's first line heads the cache file), and V8 itself
 * refuses a cache from another V8 version or other V8 flags; the bundle is then compiled
 * as usual. Commands are evaluated lazily inside the bundle (src/cli/commands/index.ts).
 *
 * CONTAINERKIT_WRITE_CODE_CACHE=1 (the build's training run) writes the cache at exit,
 * holding the code that run compiled. CONTAINERKIT_DEBUG_CODE_CACHE=1 says on stderr whether
 * the cache was used (tests).
 */

/**
 * Built-in modules without ES module facades where Node has process.getBuiltinModule
 * (20.16+): `import … from 'node:fs'` builds a facade that reads every export of fs, which
 * loads the modules behind its lazy getters (streams, fs/promises) before the CLI needs them.
 */
const getBuiltin = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
async function builtin<T>(id: string, load: () => Promise<T>): Promise<T> {
  return getBuiltin ? (getBuiltin.call(process, id) as T) : load();
}
const { readFileSync, renameSync, writeFileSync } = await builtin('node:fs', () => import('node:fs'));
const { createRequire } = await builtin('node:module', () => import('node:module'));
const { dirname, join } = await builtin('node:path', () => import('node:path'));
const { fileURLToPath } = await builtin('node:url', () => import('node:url'));
const { Script } = await builtin('node:vm', () => import('node:vm'));

type Wrapper = (exports: object, require: NodeJS.Require, module: { exports: object }, filename: string, dirname: string) => void;

const here = dirname(fileURLToPath(import.meta.url));
const filename = join(here, 'cli.cjs');
const cacheFile = join(here, 'cli.cjs.cache');
// ASCII by construction (the build checks it): latin1 reads it without decoding UTF-8.
const source = readFileSync(filename, 'latin1');

/** The bundle's build id: its first line is `//ck-build:<id>`. */
const buildId = /^\/\/ck-build:([0-9a-f]+)\n/.exec(source.slice(0, 64))?.[1] ?? '';
const header = Buffer.from(`ck-build:${buildId}\n`);

function readCache(): Buffer | undefined {
  if (!buildId) return undefined;
  let data: Buffer;
  try {
    data = readFileSync(cacheFile);
  } catch {
    return undefined; // not built (tsc alone), or removed: compile
  }
  return data.subarray(0, header.length).equals(header) ? data.subarray(header.length) : undefined;
}

// The bundle is the CommonJS wrapper function itself: compiled as it is, it evaluates to it.
const cachedData = readCache();
const script = new Script(source, { filename, cachedData });
if (process.env.CONTAINERKIT_DEBUG_CODE_CACHE === '1') {
  process.stderr.write(`code cache: ${!cachedData ? 'none' : script.cachedDataRejected ? 'rejected' : 'used'}\n`);
}

if (process.env.CONTAINERKIT_WRITE_CODE_CACHE === '1') {
  process.once('exit', () => {
    const tmp = `${cacheFile}.${process.pid}.tmp`;
    writeFileSync(tmp, Buffer.concat([header, script.createCachedData()]));
    renameSync(tmp, cacheFile);
  });
}

const module = { exports: {} };
(script.runInThisContext() as Wrapper).call(module.exports, module.exports, createRequire(filename), module, filename, here);
