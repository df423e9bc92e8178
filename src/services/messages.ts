/**
 * The wire messages as the schema loader decodes them (./schema.ts): camelCase names,
 * int64 as numbers, enums as names, absent fields undefined. Only what the services and the
 * remote store touch is typed.
 */

export interface Timestamp {
  seconds?: number;
  nanos?: number;
}

export interface FieldMask {
  paths?: string[];
}

export type Labels = Record<string, string>;

export interface WireInfo {
  digest?: string;
  size?: number;
  createdAt?: Timestamp;
  updatedAt?: Timestamp;
  labels?: Labels;
}

export interface WireOwner {
  pid?: number;
  host?: string;
  bootId?: string;
  startTicks?: number;
  pidNs?: string;
}

export interface WireStatus {
  startedAt?: Timestamp;
  updatedAt?: Timestamp;
  ref?: string;
  offset?: number;
  total?: number;
  expected?: string;
  state?: string;
  owner?: WireOwner;
  lockAgeMs?: number;
  heartbeatAgeMs?: number;
  key?: string;
  damaged?: boolean;
}

export type WriteAction = 'STAT' | 'WRITE' | 'COMMIT';

export interface WriteRequest {
  action?: WriteAction;
  ref?: string;
  total?: number;
  expected?: string;
  offset?: number;
  data?: Buffer;
  labels?: Labels;
  algorithm?: string;
}

export interface WriteResponse {
  action?: WriteAction;
  startedAt?: Timestamp;
  updatedAt?: Timestamp;
  offset?: number;
  total?: number;
  digest?: string;
  expected?: string;
}

export interface ReadRequest {
  digest?: string;
  offset?: number;
  size?: number;
}

export interface ReadResponse {
  offset?: number;
  data?: Buffer;
}

export interface WireDescriptor {
  mediaType?: string;
  digest?: string;
  size?: number;
  annotations?: Labels;
}

export interface WireImage {
  name?: string;
  labels?: Labels;
  target?: WireDescriptor;
  createdAt?: Timestamp;
  updatedAt?: Timestamp;
}

export interface WireLease {
  id?: string;
  createdAt?: Timestamp;
  labels?: Labels;
}

export interface WireResource {
  id?: string;
  type?: string;
}

export interface WirePlatform {
  os?: string;
  architecture?: string;
  variant?: string;
}

export interface WirePlugin {
  type?: string;
  id?: string;
  requires?: string[];
  platforms?: WirePlatform[];
  exports?: Labels;
  capabilities?: string[];
  initErr?: { code?: number; message?: string };
}
