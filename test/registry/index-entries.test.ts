/**
 * One bad entry in the layout's index.json must not break whole commands (issue 8, item 8):
 * `dist images` lists the good names and warns, naming each bad entry; `dist pull` records
 * its name and leaves the bad entries exactly as they were, with the same warnings. Bad
 * means: a digest that is not a digest (path traversal), null, a non-object, a named entry
 * whose media type is not an image manifest or index, a size that is not a size.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { dist, expectOk } from './helpers/cli.js';
import { image, imageBytes, layer, MT, type Image } from './helpers/image.js';
import { pushImage } from './helpers/push.js';
import { startRegistry, type Registry } from './helpers/registry.js';
import { refNames } from './helpers/store-check.js';

let reg: Registry;
let tmp: string;
let app: Image;
let other: Image;

beforeAll(async () => {
  reg = await startRegistry();
  tmp = await mkdtemp(join(tmpdir(), 'ck-index-entries-'));
  app = image([await layer([{ name: 'app.bin', size: 100_000, seed: 'entries-app' }])], { label: 'app' });
  other = image([await layer([{ name: 'other.bin', size: 100_000, seed: 'entries-other' }])], { label: 'other' });
  await pushImage({ host: reg.host }, 'entries/app', 'v1', app);
  await pushImage({ host: reg.host }, 'entries/other', 'v1', other);
});

afterAll(async () => {
  await reg?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const REF = 'org.opencontainers.image.ref.name';
const TRAVERSAL = 'sha256:../../../../etc/passwd';
const valid = `sha256:${'ab'.repeat(32)}`;
const BAD: unknown[] = [
  { mediaType: MT.ociManifest, digest: TRAVERSAL, size: 1234, annotations: { [REF]: 'evil/traversal:v1' } },
  null,
  42,
  'not an entry',
  { mediaType: 'text/plain', digest: valid, size: 5, annotations: { [REF]: 'evil/text:v1' } },
  { mediaType: MT.ociManifest, digest: valid, size: -1, annotations: { [REF]: 'evil/size:v1' } },
];
/** What each warning must name, in entry order (entry 0 is the good image). */
const NAMED = [/entry 1 .*sha256:\.\.\/\.\.\/\.\.\/\.\.\/etc\/passwd/, /entry 2 \(null\)/, /entry 3 \(42\)/, /entry 4 \("not an entry"\)/, /entry 5 .*evil\/text:v1.*text\/plain/, /entry 6 .*evil\/size:v1.*-1/];

function addBadEntries(root: string): unknown[] {
  const p = join(root, 'index.json');
  const index = JSON.parse(readFileSync(p, 'utf8')) as { manifests: unknown[] };
  index.manifests.push(...BAD);
  writeFileSync(p, JSON.stringify(index));
  return index.manifests;
}

function expectWarnings(stderr: string, verb: string): void {
  const lines = stderr.trim().split('\n');
  expect(lines, stderr).toHaveLength(BAD.length);
  lines.forEach((l, i) => {
    expect(l).toMatch(new RegExp(`^dist: warning: index\\.json entry ${i + 1}\\b.*: ${verb} \\(`));
    expect(l).toMatch(NAMED[i]!);
  });
}

test('regression: dist images lists the good names and warns naming each bad entry (was: exit 7, nothing listed)', async () => {
  const root = await mkdtemp(join(tmp, 'images-'));
  const name = `${reg.host}/entries/app:v1`;
  expectOk(await dist(['pull', '--plain-http', name], { root }));
  addBadEntries(root);

  const table = await dist(['images'], { root });
  expect(table.code, table.stderr).toBe(0);
  const rows = table.stdout.toString().trim().split('\n');
  expect(rows).toHaveLength(2);
  expect(rows[1]).toContain(name);
  expect(rows[1]).toContain(app.manifest.digest);
  expectWarnings(table.stderr, 'skipped');

  const json = await dist(['images', '--json'], { root });
  expect(json.code).toBe(0);
  expect(JSON.parse(json.stdout.toString())).toEqual([expect.objectContaining({ name, digest: app.manifest.digest, size: imageBytes(app), missing: 0 })]);
  expectWarnings(json.stderr, 'skipped');
});

test('regression: dist pull records its name and leaves bad entries untouched (was: exit 1 on a null entry)', async () => {
  const root = await mkdtemp(join(tmp, 'pull-'));
  const first = `${reg.host}/entries/app:v1`;
  const second = `${reg.host}/entries/other:v1`;
  expectOk(await dist(['pull', '--plain-http', first], { root }));
  const before = addBadEntries(root);

  const r = await dist(['pull', '--plain-http', second], { root });
  expect(r.code, r.stderr).toBe(0);
  expectWarnings(r.stderr, 'left as is');
  const after = JSON.parse(readFileSync(join(root, 'index.json'), 'utf8')).manifests as unknown[];
  // The bad entries are kept byte for byte and in order; the new name comes after them.
  expect(after.slice(0, before.length)).toEqual(before);
  expect(refNames(root)).toEqual({ [first]: app.manifest.digest, [second]: other.manifest.digest, 'evil/traversal:v1': TRAVERSAL, 'evil/text:v1': valid, 'evil/size:v1': valid });

  // Pulling a name again replaces its own entry only.
  const again = await dist(['pull', '--plain-http', first], { root });
  expect(again.code).toBe(0);
  const last = JSON.parse(readFileSync(join(root, 'index.json'), 'utf8')).manifests as unknown[];
  expect(last.filter((e) => BAD.some((b) => JSON.stringify(b) === JSON.stringify(e)))).toEqual(BAD);
  const listed = JSON.parse((await dist(['images', '--json'], { root })).stdout.toString()) as Array<{ name: string }>;
  expect(listed.map((i) => i.name)).toEqual([first, second].sort());
});
