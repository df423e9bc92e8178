/**
 * The status record of an ingest: a msgpackr record stored in two alternating slots of a
 * small file, each slot framed as
 *
 *   magic "CKS1" | seq u32 | length u32 | crc32(seq|length|payload) u32 | payload
 *
 * Updates overwrite the older slot in place (microseconds) instead of write-tmp + rename
 * (~1.4 ms on ext4). A reader racing a writer, or a crash mid-write, can tear at most the
 * slot being written; the other slot still holds the previous whole record, and the crc
 * tells torn from whole. The record with the highest valid seq wins. Nothing here is
 * fsynced: the status is advisory (resume position, identity); correctness rests on the
 * data file and on verifying the digest at commit.
 */
import { constants } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
// The pure-JS entry: the package root probes for an optional native addon (~270 ms here).
import { pack, unpack } from 'msgpackr/pack';
import type { Algorithm } from '../digest.js';
import type { Owner } from '../content/types.js';
import { FORMAT_VERSION } from './paths.js';
import { crashpoint, crashpointsArmed } from '../testing/crashpoint.js';
import { openRegularFile, readRecordSync } from './safe-fs.js';

export interface Checkpoint {
  /** Bytes of data covered by `state`. */
  offset: number;
  alg: Algorithm;
  /** hash-wasm build tag; states from another build are ignored. */
  build: string;
  state: Uint8Array;
  /** crc32 of up to TAIL bytes of data ending at `offset`: detects data replaced under the checkpoint. */
  tailCrc: number;
}

export interface StatusRecord {
  v: number;
  ref: string;
  alg: Algorithm;
  total?: number;
  expected?: string;
  startedAt: number;
  updatedAt: number;
  /** The writer that opened the ingest last. */
  owner?: Owner;
  /**
   * True while that writer has the data open; false once it closed it. A later writer
   * continues the same file only when this is false or the owner is provably dead; else it
   * moves the ingest to new files first (a paused owner may still write through its
   * descriptors).
   */
  writing?: boolean;
  checkpoint?: Checkpoint;
}

const MAGIC = 0x434b5331; // "CKS1"
const HEADER = 16;
/** Slot size: refs are capped so a record (ref + a 1.9 KiB blake3 state) always fits. */
export const SLOT = 8192;
export const MAX_REF_BYTES = 4096;
export const TAIL = 4096;

function frame(seq: number, record: StatusRecord): Buffer {
  const payload = pack(record);
  if (payload.length > SLOT - HEADER) throw new Error(`status record too large (${payload.length} bytes)`);
  const buf = Buffer.alloc(HEADER + payload.length);
  buf.writeUInt32BE(MAGIC, 0);
  buf.writeUInt32BE(seq >>> 0, 4);
  buf.writeUInt32BE(payload.length, 8);
  payload.copy(buf, HEADER);
  buf.writeUInt32BE(crc32(buf.subarray(HEADER), crc32(buf.subarray(4, 12))), 12);
  return buf;
}

function unframe(buf: Buffer, at: number): { seq: number; record: StatusRecord } | undefined {
  if (buf.length < at + HEADER || buf.readUInt32BE(at) !== MAGIC) return undefined;
  const seq = buf.readUInt32BE(at + 4);
  const len = buf.readUInt32BE(at + 8);
  if (len > SLOT - HEADER || buf.length < at + HEADER + len) return undefined;
  const payload = buf.subarray(at + HEADER, at + HEADER + len);
  if (crc32(payload, crc32(buf.subarray(at + 4, at + 12))) !== buf.readUInt32BE(at + 12)) return undefined;
  try {
    const record = unpack(payload) as StatusRecord;
    if (!record || typeof record !== 'object' || typeof record.ref !== 'string' || record.v !== FORMAT_VERSION) return undefined;
    if (record.checkpoint && !(record.checkpoint.state instanceof Uint8Array)) delete record.checkpoint;
    return { seq, record };
  } catch {
    return undefined;
  }
}

/**
 * The newest whole record of the two slots. The newer slot by its header is decoded first
 * and the other only when that one is torn or unreadable: listing 1,000 ingests decoded
 * every record twice before (issue 15).
 */
function pick(buf: Buffer): { seq: number; record: StatusRecord } | undefined {
  const seqA = headerSeq(buf, 0);
  const seqB = headerSeq(buf, SLOT);
  const order = seqB !== undefined && (seqA === undefined || seqB > seqA) ? [SLOT, 0] : [0, SLOT];
  for (const at of order) {
    const found = unframe(buf, at);
    if (found) return found;
  }
  return undefined;
}

function headerSeq(buf: Buffer, at: number): number | undefined {
  return buf.length >= at + HEADER && buf.readUInt32BE(at) === MAGIC ? buf.readUInt32BE(at + 4) : undefined;
}

/**
 * Reads the newest whole record; undefined for a missing, empty, unreadable or fully torn
 * file, or for anything but a regular file (a symlink or FIFO planted at the name is neither
 * followed nor waited on). At most two slots are read, whatever the file's size.
 *
 * Synchronous on purpose: a few syscalls on a file of at most 16 KiB (microseconds), where
 * each async call is a threadpool round trip (~100 µs here): listing 1,000 ingests took
 * ~115 ms async and ~17 ms this way. Callers that read many records yield to the event loop
 * between batches (see ingests.ts), so lock heartbeats never wait.
 */
export function readStatus(path: string, scratch: Buffer = Buffer.allocUnsafe(2 * SLOT)): StatusRecord | undefined {
  const buf = readRecordSync(path, 2 * SLOT, scratch);
  return buf ? pick(buf)?.record : undefined;
}

/** A status file held open by the ingest's writer. */
export class StatusFile {
  private constructor(
    private readonly fh: FileHandle,
    private seq: number,
  ) {}

  /**
   * Opens (creating if needed) and returns the file with the newest existing record. Never
   * through a symlink; anything but a regular file at the name fails (ENOTREGULAR, ELOOP).
   */
  static async open(path: string, mode = 0o644): Promise<{ file: StatusFile; record: StatusRecord | undefined }> {
    const { fh } = await openRegularFile(path, constants.O_RDWR | constants.O_CREAT, mode);
    try {
      const { size } = await fh.stat();
      const buf = Buffer.alloc(Math.min(size, 2 * SLOT));
      if (buf.length) await fh.read(buf, 0, buf.length, 0);
      const found = pick(buf);
      return { file: new StatusFile(fh, found?.seq ?? 0), record: found?.record };
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  /** Writes `record` into the slot not holding the newest record. */
  async write(record: StatusRecord): Promise<void> {
    this.seq = (this.seq + 1) >>> 0;
    const buf = frame(this.seq, record);
    const at = (this.seq % 2) * SLOT;
    if (crashpointsArmed) {
      // Crash tests: stop with the slot half rewritten, as a crash mid-write leaves it.
      const half = buf.length >> 1;
      await this.fh.write(buf, 0, half, at);
      crashpoint('status:torn');
      await this.fh.write(buf, half, buf.length - half, at + half);
      return;
    }
    await this.fh.write(buf, 0, buf.length, at);
  }

  async close(): Promise<void> {
    await this.fh.close();
  }

  /** The open file (for its mode and identity). */
  get handle(): FileHandle {
    return this.fh;
  }
}
