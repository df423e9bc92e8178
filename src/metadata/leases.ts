/**
 * Leases (containerd's leases, without a daemon): a lease protects the resources it lists
 * — blobs, ingest refs — from the garbage collector while it lives. A lease lives until it is
 * deleted, until it expires (`expiresAt`), or — for a lease bound to a process (`withLease`,
 * `dist pull`) — until that process dies (the ref locks' liveness rule).
 *
 *   <root>/leases/<sha256(id)>/lease          {v, id, createdAt, expiresAt?, labels, owner?}
 *   <root>/leases/<sha256(id)>/res/<sha256(type \n id)>   {type, id}: one file per resource
 *
 * A lease is created atomically with its record (prepared under a private name, renamed into
 * place: an existing lease makes the rename fail), deleted by renaming it away first. Adding
 * a resource creates one file, so any number of processes add to one lease at once without
 * a lock. Adding protection to content that may already exist must happen in the collector's
 * read section (./gc-lock.ts): `protectBlobs` does that, and reports which blobs are present.
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, mkdir, open, readdir, rename, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Owner } from '../content/types.js';
import { parseDigest } from '../digest.js';
import { alreadyExists, invalidArgument, notFound } from '../errors.js';
import { currentOwner, ownerLiveness } from '../local/owner.js';
import { readJsonRecord } from '../local/record-file.js';
import { privateName } from '../local/safe-fs.js';
import { makeDir, type TrustPolicy } from '../local/trust.js';
import { syncDir } from '../local/fsync.js';
import { MAX_REF_BYTES } from '../local/status-file.js';
import { readSection, type GcLockOptions } from './gc-lock.js';

export const CONTENT = 'content';
export const INGESTS = 'ingests';

export interface Resource {
  type: string;
  id: string;
}

export interface Lease {
  id: string;
  createdAt: Date;
  expiresAt?: Date;
  labels: Record<string, string>;
  /** The process the lease dies with, if bound to one. */
  owner?: Owner;
}

interface LeaseRecord {
  v: 1;
  id: string;
  createdAt: number;
  expiresAt?: number;
  labels: Record<string, string>;
  owner?: Owner;
}

const LEASE_CAP = 64 * 1024;
const RES_CAP = 8 * 1024;
const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

export function leasesDir(root: string): string {
  return join(root, 'leases');
}
function leaseDir(root: string, id: string): string {
  return join(leasesDir(root), sha(id));
}
function resName(r: Resource): string {
  return sha(`${r.type}\n${r.id}`);
}

function checkId(id: unknown): string {
  if (typeof id !== 'string' || id.length === 0 || Buffer.byteLength(id) > MAX_REF_BYTES) {
    throw invalidArgument('ERR_INVALID_LEASE', `a lease id must be a non-empty string of at most ${MAX_REF_BYTES} bytes`, { actual: String(id).slice(0, 80) });
  }
  return id;
}

function checkResource(r: Resource): Resource {
  if (r.type === CONTENT) return { type: CONTENT, id: parseDigest(r.id).digest };
  if (typeof r.type !== 'string' || !r.type || typeof r.id !== 'string' || !r.id || Buffer.byteLength(r.id) > MAX_REF_BYTES) {
    throw invalidArgument('ERR_INVALID_RESOURCE', `invalid lease resource ${JSON.stringify(r).slice(0, 120)}`, {});
  }
  return { type: r.type, id: r.id };
}

function fromRecord(r: LeaseRecord): Lease {
  return {
    id: r.id,
    createdAt: new Date(r.createdAt),
    ...(r.expiresAt !== undefined ? { expiresAt: new Date(r.expiresAt) } : {}),
    labels: r.labels ?? {},
    ...(r.owner ? { owner: r.owner } : {}),
  };
}

/** A lease protects nothing once expired or once the process it is bound to is dead. */
export function leaseLive(l: Lease, now = Date.now()): boolean {
  if (l.expiresAt && l.expiresAt.getTime() <= now) return false;
  return !l.owner || ownerLiveness(l.owner) !== 'dead';
}

export interface CreateLease {
  id?: string;
  /** Lifetime in ms (none: until deleted, or until the bound process dies). */
  expireMs?: number;
  labels?: Record<string, string>;
  /** Bind the lease to this process: it protects nothing once the process is gone. */
  bound?: boolean;
}

export async function createLease(trust: TrustPolicy, opts: CreateLease = {}): Promise<Lease> {
  const id = checkId(opts.id ?? `lease-${Date.now().toString(36)}-${randomBytes(5).toString('hex')}`);
  if (opts.expireMs !== undefined && !(Number.isSafeInteger(opts.expireMs) && opts.expireMs > 0)) {
    throw invalidArgument('ERR_INVALID_EXPIRE', `lease expiry must be a positive duration, got ${opts.expireMs}`, { actual: String(opts.expireMs) });
  }
  const now = Date.now();
  const record: LeaseRecord = {
    v: 1,
    id,
    createdAt: now,
    ...(opts.expireMs !== undefined ? { expiresAt: now + opts.expireMs } : {}),
    labels: opts.labels ?? {},
    ...(opts.bound ? { owner: currentOwner() } : {}),
  };
  const dir = leasesDir(trust.root);
  await makeDir(trust, dir);
  const prep = privateName(dir, 'leaseprep');
  await mkdir(prep, { mode: trust.dirMode });
  try {
    await mkdir(join(prep, 'res'), { mode: trust.dirMode });
    const fh = await open(join(prep, 'lease'), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, trust.fileMode);
    try {
      await fh.writeFile(JSON.stringify(record));
      await fh.sync(); // a lease must not come back empty after a crash
    } finally {
      await fh.close();
    }
    await rename(prep, leaseDir(trust.root, id)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOTEMPTY' || err.code === 'EEXIST') throw alreadyExists('ERR_LEASE_EXISTS', `lease ${JSON.stringify(id)} already exists`, { lease: id });
      throw err;
    });
  } catch (err) {
    await rm(prep, { recursive: true, force: true }).catch(() => {});
    throw err;
  }
  await syncDir(dir);
  return fromRecord(record);
}

export function getLease(root: string, id: string): Lease | undefined {
  const r = readJsonRecord<LeaseRecord>(join(leaseDir(root, checkId(id)), 'lease'), LEASE_CAP);
  return r && r.v === 1 && r.id === id ? fromRecord(r) : undefined;
}

/** Every lease with a readable record (live or not), by creation time. */
export async function listLeases(root: string): Promise<Lease[]> {
  let names: string[];
  try {
    names = await readdir(leasesDir(root));
  } catch {
    return [];
  }
  const out: Lease[] = [];
  for (const n of names) {
    if (!/^[0-9a-f]{64}$/.test(n)) continue;
    const r = readJsonRecord<LeaseRecord>(join(leasesDir(root), n, 'lease'), LEASE_CAP);
    if (r && r.v === 1 && typeof r.id === 'string' && sha(r.id) === n) out.push(fromRecord(r));
  }
  return out.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : 1));
}

/** Deletes a lease (its resources lose its protection). NotFound if absent. */
export async function deleteLease(root: string, id: string): Promise<void> {
  const dir = leaseDir(root, checkId(id));
  const trash = privateName(leasesDir(root), 'trash');
  try {
    await rename(dir, trash);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw notFound('ERR_LEASE_NOT_FOUND', `no lease ${JSON.stringify(id)}`, { lease: id });
    throw err;
  }
  await rm(trash, { recursive: true, force: true });
}

/** Adds resources to a lease (idempotent). NotFound if the lease does not exist. */
export async function addResources(trust: TrustPolicy, id: string, resources: Resource[]): Promise<void> {
  const dir = join(leaseDir(trust.root, checkId(id)), 'res');
  for (const raw of resources) {
    const r = checkResource(raw);
    let fh;
    try {
      fh = await open(join(dir, resName(r)), constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, trust.fileMode);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw notFound('ERR_LEASE_NOT_FOUND', `no lease ${JSON.stringify(id)}`, { lease: id });
      throw err;
    }
    try {
      await fh.writeFile(JSON.stringify(r));
    } finally {
      await fh.close();
    }
  }
}

export async function deleteResources(root: string, id: string, resources: Resource[]): Promise<void> {
  if (!getLease(root, id)) throw notFound('ERR_LEASE_NOT_FOUND', `no lease ${JSON.stringify(id)}`, { lease: id });
  const dir = join(leaseDir(root, id), 'res');
  for (const r of resources) await unlink(join(dir, resName(checkResource(r)))).catch(() => {});
}

export async function listResources(root: string, id: string): Promise<Resource[]> {
  if (!getLease(root, id)) throw notFound('ERR_LEASE_NOT_FOUND', `no lease ${JSON.stringify(id)}`, { lease: id });
  return readResources(join(leaseDir(root, id), 'res'));
}

async function readResources(dir: string): Promise<Resource[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const out: Resource[] = [];
  for (const n of names) {
    const r = readJsonRecord<Resource>(join(dir, n), RES_CAP);
    if (r && typeof r.type === 'string' && typeof r.id === 'string' && resName(r) === n) out.push({ type: r.type, id: r.id });
  }
  return out;
}

/** What every live lease protects (read by the collector), and the leases that are dead. */
export async function leaseProtection(root: string): Promise<{ content: Map<string, string>; ingests: Set<string>; live: Lease[]; dead: Lease[] }> {
  const content = new Map<string, string>();
  const ingests = new Set<string>();
  const live: Lease[] = [];
  const dead: Lease[] = [];
  const now = Date.now();
  for (const l of await listLeases(root)) {
    if (!leaseLive(l, now)) {
      dead.push(l);
      continue;
    }
    live.push(l);
    for (const r of await readResources(join(leaseDir(root, l.id), 'res'))) {
      if (r.type === CONTENT && !content.has(r.id)) content.set(r.id, l.id);
      else if (r.type === INGESTS) ingests.add(r.id);
    }
  }
  return { content, ingests, live, dead };
}

/**
 * Puts `digests` in lease `id` and tells which of them are in the store, in one read section:
 * a blob reported present stays present while the lease lives (the collector either ran
 * before — and what it removed is reported absent — or runs after and sees the lease).
 */
export async function protectBlobs(
  trust: TrustPolicy,
  gc: GcLockOptions,
  id: string,
  digests: string[],
  present: (digest: string) => Promise<boolean>,
): Promise<Set<string>> {
  return readSection(trust, gc, async () => {
    await addResources(trust, id, digests.map((d) => ({ type: CONTENT, id: d })));
    const here = new Set<string>();
    for (const d of digests) if (await present(d)) here.add(d);
    return here;
  });
}

/** Leases' leftovers: prepared or deleted lease directories (private names). */
export async function leaseDebris(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const n of await readdir(leasesDir(root)).catch(() => [] as string[])) {
    if (n.startsWith('.')) {
      const st = await lstat(join(leasesDir(root), n)).catch(() => undefined);
      if (st && Date.now() - st.mtimeMs > 60_000) out.push(join(leasesDir(root), n));
    }
  }
  return out;
}
