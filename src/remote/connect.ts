/**
 * Builds a RegistryClient from command-line style options: HTTPS unless --plain-http;
 * Basic credentials from --user, else from the Docker config for that host.
 */
import { RegistryClient } from './client.js';
import { dockerConfigCredentials, parseUser } from './credentials.js';
import type { Reference } from './reference.js';

export interface ConnectOptions {
  plainHttp?: boolean;
  user?: string;
}

export function connect(ref: Reference, o: ConnectOptions = {}): RegistryClient {
  const credentials = o.user !== undefined ? parseUser(o.user) : dockerConfigCredentials(ref.host);
  return new RegistryClient({ host: ref.host, plainHttp: o.plainHttp, credentials });
}
