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
 * piscina loads by path. piscina stays outside the bundle (it finds its own worker file
 * next to itself) and is loaded with require(): a script run through node:vm has no
 * dynamic import() on Node 20.
 *
 *   node scripts/bundle-cli.mjs [--metafile FILE]
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

// A cache never outlives the bundle it was made from (the launcher checks the build id too).
rmSync(cacheFile, { force: true });

/** `import('piscina')` in src/hash/pool.ts becomes a require() of the installed package. */
const piscinaByRequire = {
  name: 'piscina-by-require',
  setup(b) {
    b.onResolve({ filter: /^piscina$/ }, (a) => (a.namespace === 'piscina-by-require' ? { path: 'piscina', external: true } : { path: 'piscina', namespace: 'piscina-by-require' }));
    b.onLoad({ filter: /.*/, namespace: 'piscina-by-require' }, () => ({ contents: "module.exports = require('piscina');", loader: 'js' }));
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
  // ES builds where a package has one (hash-wasm): its unused hashes are left out.
  mainFields: ['module', 'main'],
  plugins: [piscinaByRequire],
  // Modules that find files next to themselves (package.json, the workers) keep doing so
  // from the bundle's place, dist/src/cli/, where tsc put src/cli/main.js.
  define: { 'import.meta.url': '__ckImportMetaUrl' },
  banner: { js: 'var __ckImportMetaUrl = require("node:url").pathToFileURL(__filename).href;' },
  sourcemap: 'external',
  metafile: true,
  write: false,
  logLevel: 'warning',
});
const js = cli.outputFiles.find((f) => f.path === bundleFile);
const map = cli.outputFiles.find((f) => f.path === `${bundleFile}.map`);
if (!js || !map) fail('esbuild wrote no bundle');
// The launcher wraps the source in a function: no hashbang. The build id heads it.
const code = js.text.replace(/^#!.*\n/, '');
if (/\bimport\(/.test(code.replace(/"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`/g, '""'))) {
  fail('the bundle still has a dynamic import(), which node:vm cannot run on Node 20');
}
const buildId = createHash('sha256').update(code).update(randomBytes(8)).digest('hex').slice(0, 16);
writeFileSync(bundleFile, `//ck-build:${buildId}\n${code}`);
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
