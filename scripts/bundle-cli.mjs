#!/usr/bin/env node
/**
 * Bundles the CLI (issue 15: start-up cost). Runs after `tsc` in `npm run build`:
 *
 *   dist/src/cli/cli.cjs        src/cli/main.ts with every module and package it uses, one
 *                               CommonJS file (commands stay lazily evaluated inside it)
 *   dist/src/cli/main.js        src/cli/launch.ts, replacing tsc's main.js: runs cli.cjs
 *                               with V8's code cache
 *   dist/src/cli/cli.cjs.cache  that cache, written by a training run of the built CLI (a
 *                               small verified ingest into a temporary store), which also
 *                               proves the bundle works before the build succeeds
 *
 * What stays as it was: the bin path, tsc's output of every other module (the library API
 * and the tests import those), and the worker entry points (dist/workers/*.js), which
 * piscina loads by path. A few packages stay outside the bundle (BY_REQUIRE below) and are
 * loaded with require(): a script run through node:vm has no dynamic import() on Node 20.
 *
 *   node scripts/bundle-cli.mjs [--metafile FILE]
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'src', 'cli');
const bundleFile = join(outdir, 'cli.cjs');
const cacheFile = join(outdir, 'cli.cjs.cache');
const mainFile = join(outdir, 'main.js');
const args = process.argv.slice(2);
const metafile = args[0] === '--metafile' ? args[1] : undefined;

function fail(msg) {
  console.error(`bundle-cli: ${msg}`);
  process.exit(1);
}

// A cache never outlives the bundle it was made from (the launcher checks the build id too);
// tsc's map of the main.js this script replaces would describe another file.
rmSync(cacheFile, { force: true });
rmSync(`${mainFile}.map`, { force: true });

/**
 * Packages left out of the bundle and loaded with the CommonJS loader when first needed:
 * piscina (it finds its own worker file next to itself), and what only `dist serve` and
 * `--address` use (gRPC, its schema loader, the filters' RE2): ~700 KiB of source and code
 * cache that every other process would read and deserialise for nothing (measured: the
 * bundle went 0.5 -> 1.4 MB and the cache's compile 6 -> 10 ms when they were bundled).
 * Their static imports stay lazy, as the modules importing them are reached only through
 * the commands' on-demand loaders.
 */
const BY_REQUIRE = ['piscina', '@grpc/grpc-js', '@grpc/proto-loader', 're2js'];
const byRequire = {
  name: 'by-require',
  setup(b) {
    const filter = new RegExp(`^(${BY_REQUIRE.map((n) => n.replace(/[/.]/g, '\\$&')).join('|')})$`);
    b.onResolve({ filter }, (a) => (a.namespace === 'by-require' ? { path: a.path, external: true } : { path: a.path, namespace: 'by-require' }));
    b.onLoad({ filter: /.*/, namespace: 'by-require' }, (a) => ({ contents: `module.exports = require(${JSON.stringify(a.path)});`, loader: 'js' }));
  },
};

// The bundle is one function expression, the CommonJS wrapper: the launcher compiles the
// file as it is (no copy of ~1 MB of source to wrap it). Its first line, where esbuild puts
// main.ts's hashbang, becomes the build id, so the source map's lines stay right.
const buildId = randomBytes(8).toString('hex');
/**
 * Built-in modules loaded on first use instead of at start-up (each costs 1-3 ms to load
 * here): commander needs child_process only for executable subcommands (dist has none),
 * graceful-fs and signal-exit need assert only when a check fails, `dist list` needs
 * neither crypto nor zlib, `dist ingest` needs net only when stdin is a pipe. The bundle
 * requires them as `lazy:<name>`; the wrapper's require (banner below) answers with a proxy
 * that loads the module on its first property access.
 */
const LAZY_BUILTINS = ['child_process', 'crypto', 'zlib', 'assert', 'worker_threads', 'net'];
const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(b) {
    const filter = new RegExp(`^(node:)?(${LAZY_BUILTINS.join('|')})$`);
    b.onResolve({ filter }, (a) => ({ path: `lazy:node:${a.path.replace(/^node:/, '')}`, external: true }));
  },
};
/**
 * The bundle's require(): built-ins through process.getBuiltinModule where Node has it
 * (20.16+; a user-land require of a built-in also builds its ES module facade, reading every
 * export and so loading what lazy getters guard), `lazy:` ones as proxies, the rest (BY_REQUIRE)
 * through the CommonJS loader.
 */
const lazyRequire = [
  'require = ((load, builtin) => {',
  '  const get = (id) => (builtin && builtin(id)) || load(id);',
  '  return (id) => {',
  '    if (!id.startsWith("lazy:")) return get(id);',
  '    let m;',
  '    const real = () => (m ??= get(id.slice(5)));',
  '    return new Proxy({}, {',
  '      // signal-exit (under proper-lockfile) calls assert.equal() once at start-up: only a',
  '      // failing check needs the assert module, to throw its AssertionError.',
  '      get: (_, k) => (id === "lazy:node:assert" && k === "equal" ? (a, b, ...m) => void (a == b || real().equal(a, b, ...m)) : real()[k]),',
  '      has: (_, k) => k in real(),',
  '      ownKeys: () => Reflect.ownKeys(real()),',
  '      getOwnPropertyDescriptor: (_, k) => { const d = Reflect.getOwnPropertyDescriptor(real(), k); if (d) d.configurable = true; return d; },',
  '    });',
  '  };',
  '})(require, typeof process.getBuiltinModule === "function" ? (id) => process.getBuiltinModule(id) : undefined);',
].join('\n');

/**
 * src/hash/wasm.ts imports hash-wasm dynamically and picks its hashers off the namespace,
 * which keeps every hash-wasm algorithm (229 KiB of WebAssembly as base64, a third of the
 * bundle, read by every process). Inside the bundle that import resolves to the three
 * hashers the store uses (src/remote/verify.ts imports createBLAKE3 statically).
 */
const HASH_WASM_USED = ['createSHA256', 'createSHA512', 'createBLAKE3'];
const hashWasmSubset = {
  name: 'hash-wasm-subset',
  setup(b) {
    b.onResolve({ filter: /^hash-wasm$/ }, (a) => (a.namespace === 'hash-wasm-subset' ? undefined : { path: 'hash-wasm', namespace: 'hash-wasm-subset' }));
    b.onLoad({ filter: /.*/, namespace: 'hash-wasm-subset' }, () => ({
      contents: `export { ${HASH_WASM_USED.join(', ')} } from 'hash-wasm';`,
      loader: 'js',
      resolveDir: root,
    }));
  },
};

/**
 * src/hash/wasm.ts tags hash states with hash-wasm's version, read from its package.json
 * at start-up (a module resolution and a JSON parse per process). The bundle carries
 * hash-wasm's code as of this build, so it carries that version as a constant too.
 */
const hashWasmVersion = JSON.parse(readFileSync(createRequire(join(root, 'package.json')).resolve('hash-wasm/package.json'), 'utf8')).version;
const inlineHashWasmVersion = {
  name: 'inline-hash-wasm-version',
  setup(b) {
    b.onLoad({ filter: /[\\/]src[\\/]hash[\\/]wasm\.ts$/ }, (a) => {
      const source = readFileSync(a.path, 'utf8');
      const read = "require('hash-wasm/package.json').version";
      if (!source.includes(read)) fail(`${a.path} no longer reads ${read}: update scripts/bundle-cli.mjs`);
      return { contents: source.replace(read, JSON.stringify(hashWasmVersion)), loader: 'ts' };
    });
  },
};

const cli = await build({
  absWorkingDir: root,
  entryPoints: ['src/cli/main.ts'],
  outfile: bundleFile,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // ES builds where a package has one (hash-wasm's can be tree-shaken, see hashWasmSubset).
  mainFields: ['module', 'main'],
  plugins: [byRequire, lazyBuiltins, hashWasmSubset, inlineHashWasmVersion],
  // Modules that find files next to themselves (package.json, the workers) keep doing so
  // from the bundle's place, dist/src/cli/, where tsc put src/cli/main.js.
  define: { 'import.meta.url': '__ckImportMetaUrl' },
  // "use strict" first: the wrapper's own directive (the sources are ES modules, strict).
  banner: { js: '(function (exports, require, module, __filename, __dirname) {"use strict";\nvar __ckImportMetaUrl = require("node:url").pathToFileURL(__filename).href;\n' + lazyRequire },
  footer: { js: '})' },
  // Less source to read; names are kept, so stack traces (DIST_DEBUG=1) still say where.
  minifyWhitespace: true,
  minifySyntax: true,
  // ASCII only (esbuild escapes the rest): the launcher reads it as latin1, without decoding UTF-8.
  charset: 'ascii',
  // Linked: `node --enable-source-maps` maps stack traces back to src/ (nothing is read otherwise).
  sourcemap: 'linked',
  metafile: true,
  write: false,
  logLevel: 'warning',
});
const js = cli.outputFiles.find((f) => f.path === bundleFile);
const map = cli.outputFiles.find((f) => f.path === `${bundleFile}.map`);
if (!js || !map) fail('esbuild wrote no bundle');
if (!js.text.startsWith('#!')) fail('expected the hashbang of src/cli/main.ts on the bundle\'s first line');
const code = js.text.replace(/^#!.*/, `//ck-build:${buildId}`);
if (!/^[\x00-\x7f]*$/.test(code)) fail('the bundle is not ASCII');
if (/\bimport\(/.test(code.replace(/"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`/g, '""'))) {
  fail('the bundle still has a dynamic import(), which node:vm cannot run on Node 20');
}
writeFileSync(bundleFile, code);
writeFileSync(`${bundleFile}.map`, map.contents);
if (metafile) writeFileSync(metafile, JSON.stringify(cli.metafile));

await build({
  absWorkingDir: root,
  entryPoints: ['src/cli/launch.ts'],
  outfile: mainFile,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
});

// Training run: a verified 2 KiB ingest, the path the seed's process-per-blob pipelines take.
const store = mkdtempSync(join(tmpdir(), 'ck-bundle-'));
try {
  const input = randomBytes(2048);
  const digest = `sha256:${createHash('sha256').update(input).digest('hex')}`;
  const r = spawnSync(process.execPath, [mainFile, '--root', join(store, 'root'), 'ingest', '--expected-digest', digest], {
    input,
    encoding: 'utf8',
    env: { ...process.env, CONTAINERKIT_WRITE_CODE_CACHE: '1', DIST_JOBS: '1' },
  });
  if (r.status !== 0 || r.stdout.trim() !== digest) fail(`the bundled CLI failed its training ingest (exit ${r.status}): ${r.stderr.trim()}`);
  if (!existsSync(cacheFile)) fail(`the training run wrote no ${cacheFile}`);
} finally {
  rmSync(store, { recursive: true, force: true });
}
