/**
 * The stream-ingest data path (issue 14): a regular file on stdin is read into recycled
 * buffers, and the native engine hashes the caller's buffer in place while its write is
 * under way. What must hold: the committed blob is exactly the bytes stdin delivered, for
 * either engine, any size, from wherever the descriptor's offset stood; and a write that
 * fails leaves hash and data together (its hash update is dropped), so the same writer
 * can go on and commit the right digest; a vectored write (a pull's received buffers)
 * appends exactly its buffers in order.
 */
import { createHash } from 'node:crypto';
import { open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../src/index.js';
import { nativeEngine } from '../src/hash/native.js';
import { randomBytes } from './helpers/bytes.js';
import { distBinDir, runShell } from './helpers/cli.js';
import { cleanupAll, makeTempDir } from './helpers/tmp.js';
import { shq } from './helpers/terminal.js';

afterAll(cleanupAll);

const sha256 = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe.each(['native', 'wasm'])('dist ingest --hash %s with a file on stdin', (engine) => {
  it('commits exactly the file: several 1 MiB pieces through two reused buffers and a short tail', async () => {
    const tmp = await makeTempDir('ck-stdin-');
    const bin = await distBinDir(tmp.dir);
    const file = join(tmp.dir, 'input');
    // Distinct pieces: a buffer reused before its piece was written and hashed would show.
    const content = randomBytes(5 * (1 << 20) + 12345);
    await writeFile(file, content);
    const root = join(tmp.dir, 'store');
    const r = await runShell(`dist --root ${shq(root)} ingest --hash ${engine} --expected-size ${content.length} x < ${shq(file)}`, { binDir: bin });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(sha256(content));
    const blob = await readFile(join(root, 'blobs', 'sha256', sha256(content).slice(7)));
    expect(blob.equals(content)).toBe(true);
  });

  it('starts where the descriptor stands, as cat would (stdin shared with a reader before it)', async () => {
    const tmp = await makeTempDir('ck-stdin-');
    const bin = await distBinDir(tmp.dir);
    const file = join(tmp.dir, 'input');
    const content = randomBytes(3 * (1 << 20) + 7);
    await writeFile(file, content);
    const root = join(tmp.dir, 'store');
    // dd consumes exactly the first 1000 bytes of the shared descriptor; dist gets the rest.
    const r = await runShell(`{ dd bs=1000 count=1 of=/dev/null status=none; dist --root ${shq(root)} ingest --hash ${engine} rest; } < ${shq(file)}`, { binDir: bin });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(sha256(content.subarray(1000)));
  });
});

it('native in-place hashing: a write that fails is not hashed, so the same writer writes it again and commits the right digest', async () => {
  const tmp = await makeTempDir('ck-stdin-');
  const store = openStore(join(tmp.dir, 'store'), { engine: nativeEngine });
  const pieces = [randomBytes(1 << 20), randomBytes(1 << 20), randomBytes(300_000)];
  const whole = Buffer.concat(pieces);
  // Make the data write of the second piece fail once, as a full disk would.
  const fh = await open(join(tmp.dir, 'probe'), 'w');
  const proto = Object.getPrototypeOf(fh) as { write: (...a: unknown[]) => Promise<unknown> };
  await fh.close();
  const orig = proto.write;
  let failures = 0;
  proto.write = function (this: unknown, ...a: unknown[]) {
    if (a[3] === 1 << 20 && failures === 0) {
      failures++;
      return Promise.reject(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' }));
    }
    return orig.apply(this, a);
  };
  try {
    const w = await store.writer({ ref: 'in-place', total: whole.length, expected: sha256(whole) });
    await w.write(pieces[0]!);
    await expect(w.write(pieces[1]!)).rejects.toMatchObject({ code: 'ERR_NO_SPACE' });
    expect(failures).toBe(1);
    expect((await w.status()).offset).toBe(1 << 20);
    await w.write(pieces[1]!);
    await w.write(pieces[2]!);
    expect(await w.digest()).toBe(sha256(whole));
    expect(await w.commit()).toBe(sha256(whole));
  } finally {
    proto.write = orig;
    await store.close();
  }
});

describe.each([
  ['native (hashed in place)', nativeEngine],
  ['wasm (one copy for the hashing thread)', undefined],
] as const)('Writer.writev, %s', (_name, engine) => {
  it('appends many small buffers (a socket\'s) in order, mixed with plain writes and empty buffers, and commits their digest', async () => {
    const tmp = await makeTempDir('ck-writev-');
    const store = openStore(join(tmp.dir, 'store'), engine ? { engine } : {});
    try {
      const parts = Array.from({ length: 40 }, (_, i) => randomBytes(i % 7 === 0 ? 0 : 65_536 + i));
      const w = await store.writer({ ref: 'v' });
      await w.writev!(parts.slice(0, 17));
      await w.write(parts[17]!);
      await w.writev!(parts.slice(18));
      const whole = Buffer.concat(parts);
      expect((await w.status()).offset).toBe(whole.length);
      const digest = await w.commit({ expected: sha256(whole) });
      expect((await readFile(join(tmp.dir, 'store', 'blobs', 'sha256', digest.slice(7)))).equals(whole)).toBe(true);
    } finally {
      await store.close();
    }
  });
});
