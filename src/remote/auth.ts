/**
 * Registry authorization. Requests go out anonymously until a host answers 401; its
 * WWW-Authenticate challenge is remembered per origin, after which requests carry
 * credentials up front:
 *   - Basic: the configured credentials (none → the 401 stands).
 *   - Bearer: a token from the challenge's realm for (service, scope), fetched with the Basic
 *     credentials if any, else anonymously; cached per scope until shortly before it
 *     expires, and fetched once however many requests want it at the same time.
 *     Credentials never travel over a weaker scheme than the registry's: an https registry
 *     naming an http realm is refused when we would send credentials there (anonymous
 *     token requests carry nothing to leak). The token answer is a bounded document.
 * A request is retried at most once after a 401 (the client enforces that), and a cached
 * token that drew a 401 is dropped. A token is asked for the scope the request needs merged
 * with the scope the registry's last challenge named (it may know better, e.g. the source
 * repository of a mount), never for the challenge's alone: a challenge is kept per origin,
 * and one drawn by a pull must not narrow the token a later push asks for.
 */
import { failedPrecondition, unavailable } from '../errors.js';
import { parseChallenge, type Challenge } from './challenge.js';
import { basicHeader, type Credentials } from './credentials.js';
import { readDocument } from './document.js';
import { discard, send } from './http.js';
import { documentTimeoutMs, MAX_TOKEN_RESPONSE } from './limits.js';
import { canceledBy } from './retry.js';
import type { IncomingHttpHeaders } from 'node:http';

interface CachedToken {
  token: string;
  expiresAt: number;
}

export function pullScope(repository: string): string {
  return `repository:${repository}:pull`;
}

/** Push needs pull too: HEAD checks and upload status reads are pull actions. */
export function pushScope(repository: string): string {
  return `repository:${repository}:pull,push`;
}

/** A cross-repository mount also reads the source repository. */
export function mountScope(repository: string, from: string): string {
  return `${pushScope(repository)} ${pullScope(from)}`;
}

/**
 * Union of space-separated scopes (`type:name:action,action`), actions merged per resource,
 * in first-seen order: `repository:a:pull` + `repository:a:push` → `repository:a:pull,push`.
 */
export function mergeScopes(...scopes: Array<string | undefined>): string {
  const merged = new Map<string, string[]>();
  for (const s of scopes) {
    for (const item of (s ?? '').split(/\s+/).filter(Boolean)) {
      const cut = item.lastIndexOf(':');
      const resource = cut > 0 ? item.slice(0, cut) : item;
      const actions = cut > 0 ? item.slice(cut + 1).split(',').filter(Boolean) : [];
      const have = merged.get(resource) ?? [];
      for (const a of actions) if (!have.includes(a)) have.push(a);
      merged.set(resource, have);
    }
  }
  return [...merged].map(([r, a]) => (a.length ? `${r}:${a.join(',')}` : r)).join(' ');
}

export class Authorizer {
  private readonly challenges = new Map<string, Challenge>();
  private readonly tokens = new Map<string, Promise<CachedToken>>();
  /** Token requests made (tests assert caching through it). */
  tokenFetches = 0;

  constructor(private readonly credentials?: Credentials) {}

  /** Authorization header for a request to `url` needing `scope`, or undefined (anonymous). */
  async header(url: URL, scope: string, signal?: AbortSignal): Promise<string | undefined> {
    const ch = this.challenges.get(url.origin);
    if (!ch) return undefined;
    if (ch.scheme === 'basic') return this.credentials ? basicHeader(this.credentials) : undefined;
    if (ch.scheme === 'bearer') return `Bearer ${(await this.token(ch, scope, url, signal)).token}`;
    return undefined;
  }

  /**
   * Records the challenge of a 401 and says whether a retry can succeed: Basic only when
   * we have credentials and did not send them yet; Bearer when a (new) token can be had.
   */
  unauthorized(url: URL, headers: IncomingHttpHeaders, scope: string, sent: string | undefined): boolean {
    const ch = parseChallenge(headers['www-authenticate']);
    if (!ch) return false;
    this.challenges.set(url.origin, ch);
    if (ch.scheme === 'basic') return !!this.credentials && !sent?.startsWith('Basic ');
    if (ch.scheme === 'bearer') {
      if (sent?.startsWith('Bearer ')) this.tokens.delete(this.key(ch, scope));
      return true;
    }
    return false;
  }

  private key(ch: Challenge, scope: string): string {
    return `${ch.params.realm ?? ''}\n${ch.params.service ?? ''}\n${scope}`;
  }

  private token(ch: Challenge, scope: string, registry: URL, signal?: AbortSignal): Promise<CachedToken> {
    const key = this.key(ch, scope);
    const cached = this.tokens.get(key);
    if (cached) {
      return cached.then(
        (t) => (t.expiresAt > Date.now() ? t : this.refresh(key, ch, scope, registry, signal)),
        () => this.refresh(key, ch, scope, registry, signal),
      );
    }
    return this.refresh(key, ch, scope, registry, signal);
  }

  private refresh(key: string, ch: Challenge, scope: string, registry: URL, signal?: AbortSignal): Promise<CachedToken> {
    const p = this.fetchToken(ch, scope, registry, signal);
    this.tokens.set(key, p);
    p.catch(() => {
      if (this.tokens.get(key) === p) this.tokens.delete(key);
    });
    return p;
  }

  private async fetchToken(ch: Challenge, scope: string, registry: URL, signal?: AbortSignal): Promise<CachedToken> {
    const realm = ch.params.realm;
    let url: URL;
    try {
      url = new URL(realm ?? '');
      if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('not http(s)');
    } catch {
      throw failedPrecondition('ERR_AUTH_CHALLENGE', `registry sent a Bearer challenge without a usable realm (${JSON.stringify(realm)})`, {});
    }
    if (this.credentials && registry.protocol === 'https:' && url.protocol !== 'https:') {
      throw failedPrecondition(
        'ERR_INSECURE_REALM',
        `registry ${registry.origin} names token realm ${url.origin}${url.pathname} over plain http: refusing to send the credentials of user ${this.credentials.username} there`,
        { url: url.origin, expected: 'https:', actual: url.protocol },
      );
    }
    if (ch.params.service) url.searchParams.set('service', ch.params.service);
    url.searchParams.set('scope', mergeScopes(scope, ch.params.scope));
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'containerkit-dist' };
    if (this.credentials) headers.authorization = basicHeader(this.credentials);
    this.tokenFetches++;
    let res;
    try {
      res = await send(url, { method: 'GET', headers, signal });
    } catch (err) {
      // Cancelled because another transfer failed (or SIGINT): say so, so the root cause is reported.
      if (signal?.aborted) throw canceledBy(signal);
      throw unavailable('ERR_TOKEN_SERVER', `token server ${url.origin}: ${(err as Error).message}`, { url: url.origin });
    }
    if (res.status === 401 || res.status === 403) {
      discard(res.body);
      throw failedPrecondition('ERR_UNAUTHORIZED', `token server ${url.origin} refused ${this.credentials ? `user ${this.credentials.username}` : 'anonymous access'} (HTTP ${res.status})`, {
        status: res.status,
      });
    }
    if (res.status !== 200) {
      discard(res.body);
      throw unavailable('ERR_TOKEN_SERVER', `token server ${url.origin} answered HTTP ${res.status}`, { status: res.status });
    }
    const what = `token server ${url.origin}`;
    const text = await readDocument(res, {
      what, cap: MAX_TOKEN_RESPONSE, capText: `the ${MAX_TOKEN_RESPONSE}-byte limit for token responses`,
      kind: 'Unavailable', code: 'ERR_TOKEN_SERVER', timeoutMs: documentTimeoutMs(), signal,
    });
    let body: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      body = JSON.parse(text.toString('utf8'));
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error('not an object');
    } catch {
      throw unavailable('ERR_TOKEN_SERVER', `${what}: answer is not a JSON object (HTTP ${res.status}, ${text.length} bytes)`, { url: url.origin });
    }
    const token = body.token ?? body.access_token;
    // It goes into an Authorization header: visible ASCII only, or Node would throw there.
    if (typeof token !== 'string' || !/^[\x21-\x7e]+$/.test(token)) {
      throw unavailable('ERR_TOKEN_SERVER', `${what} returned ${token === undefined ? 'no token' : 'an unusable token (not visible ASCII)'}`, { url: url.origin });
    }
    // Spec default lifetime is 60 s; renew 10 s early so a token never expires in flight.
    const life = (typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 60) * 1000;
    return { token, expiresAt: Date.now() + Math.max(life - 10_000, life / 2) };
  }
}
