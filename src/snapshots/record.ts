/**
 * The metadata file of one snapshotter: every snapshot's record in one msgpackr payload,
 * framed so a reader can tell a whole file from anything else:
 *
 *   magic "CKSN" | version u32 | length u32 | crc32(version|length|payload) u32 | payload
 *
 * The file is only ever replaced whole (write temp, fsync, rename; see metadata.ts), so a
 * reader sees the old or the new database. The frame still guards against a file truncated
 * or scribbled on by something else: such a file is DataLoss, never silently overwritten.
 */
import { crc32 } from 'node:zlib';
import { pack, unpack } from 'msgpackr/pack';
import { dataLoss } from '../errors.js';
import type { Kind, Usage } from './types.js';

export const FORMAT_VERSION = 1;
const MAGIC = 0x434b534e; // "CKSN"
const HEADER = 16;
/** Bounded read: 64 MiB holds ~300,000 snapshot records. */
export const MAX_DB_BYTES = 64 << 20;

export interface SnapshotRecord {
  /** Storage directory: snapshots/<id>. Never reused. */
  id: number;
  kind: Kind;
  parent?: string;
  labels: Record<string, string>;
  created: number;
  updated: number;
  /** Measured at commit (Committed snapshots only). */
  usage?: Usage;
}

export interface Db {
  v: number;
  driver: string;
  nextId: number;
  snapshots: Record<string, SnapshotRecord>;
}

export function emptyDb(driver: string): Db {
  return { v: FORMAT_VERSION, driver, nextId: 1, snapshots: {} };
}

export function encodeDb(db: Db): Buffer {
  const payload = pack(db);
  const buf = Buffer.alloc(HEADER + payload.length);
  buf.writeUInt32BE(MAGIC, 0);
  buf.writeUInt32BE(FORMAT_VERSION, 4);
  buf.writeUInt32BE(payload.length, 8);
  payload.copy(buf, HEADER);
  buf.writeUInt32BE(crc32(payload, crc32(buf.subarray(4, 12))), 12);
  return buf;
}

/** Decodes and identity-checks a metadata file of `driver`; anything else is DataLoss. */
export function decodeDb(buf: Buffer, driver: string, path: string): Db {
  const bad = (why: string) => dataLoss('ERR_SNAPSHOT_METADATA', `snapshot metadata ${path} is corrupt: ${why}; move it away to start over`, { path });
  if (buf.length < HEADER || buf.readUInt32BE(0) !== MAGIC) throw bad('no CKSN header');
  const version = buf.readUInt32BE(4);
  if (version !== FORMAT_VERSION) throw bad(`format version ${version}, expected ${FORMAT_VERSION}`);
  const len = buf.readUInt32BE(8);
  if (buf.length !== HEADER + len) throw bad(`length ${buf.length - HEADER}, header says ${len}`);
  const payload = buf.subarray(HEADER);
  if (crc32(payload, crc32(buf.subarray(4, 12))) !== buf.readUInt32BE(12)) throw bad('checksum mismatch');
  let db: Db;
  try {
    db = unpack(payload) as Db;
  } catch (err) {
    throw bad(`undecodable payload (${(err as Error).message})`);
  }
  if (!db || db.v !== FORMAT_VERSION || typeof db.snapshots !== 'object' || !Number.isSafeInteger(db.nextId)) throw bad('not a snapshot database');
  if (db.driver !== driver) throw bad(`written by driver ${JSON.stringify(db.driver)}, opened as ${JSON.stringify(driver)}`);
  return db;
}
