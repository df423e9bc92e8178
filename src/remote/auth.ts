/**
 * Registry authorization. Requests go out anonymously until a host answers 401; its
 * WWW-Authenticate challenge is remembered per origin, after which requests carry
 * credentials up front:
 *   - Basic: the configured credentials (none → the 401 stands).
 *   - Bearer: a token from the challenge's realm for (service, scope), fetched with the Basic
 *     credentials if any, else anonymously; cached per scope until shortly before it
 *     expires, and fetched once however many requests want it at the same time.
 * A request is retried at most once after a 401 (the client enforces that), and a cached
 * token that drew a 401 is dropped.
 */
import { failedPrecondition, unavailable } from '../errors.js';
import { parseChallenge, type Challenge } from './challenge.js';
import { basicHeader, type Credentials } from './credentials.js';
import { discard, readBody, send } from './http.js';
import type { IncomingHttpHeaders } from 'node:http';

interface CachedToken {
  token: string;
  expiresAt: number;
}

export function pullScope(repository: string): string {
  return `repository:${repository}:pull`;
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
    if (ch.scheme === 'bearer') return `Bearer ${(await this.token(ch, scope, signal)).token}`;
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

  private token(ch: Challenge, scope: string, signal?: AbortSignal): Promise<CachedToken> {
    const key = this.key(ch, scope);
    const cached = this.tokens.get(key);
    if (cached) {
      return cached.then(
        (t) => (t.expiresAt > Date.now() ? t : this.refresh(key, ch, scope, signal)),
        () => this.refresh(key, ch, scope, signal),
      );
    }
    return this.refresh(key, ch, scope, signal);
  }

  private refresh(key: string, ch: Challenge, scope: string, signal?: AbortSignal): Promise<CachedToken> {
    const p = this.fetchToken(ch, scope, signal);
    this.tokens.set(key, p);
    p.catch(() => {
      if (this.tokens.get(key) === p) this.tokens.delete(key);
    });
    return p;
  }

  private async fetchToken(ch: Challenge, scope: string, signal?: AbortSignal): Promise<CachedToken> {
    const realm = ch.params.realm;
    let url: URL;
    try {
      url = new URL(realm ?? '');
      if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('not http(s)');
    } catch {
      throw failedPrecondition('ERR_AUTH_CHALLENGE', `registry sent a Bearer challenge without a usable realm (${JSON.stringify(realm)})`, {});
    }
    if (ch.params.service) url.searchParams.set('service', ch.params.service);
    // The challenge names the scope the failed request needed; ours is the same or wider.
    url.searchParams.set('scope', ch.params.scope ?? scope);
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'containerkit-dist' };
    if (this.credentials) headers.authorization = basicHeader(this.credentials);
    this.tokenFetches++;
    let res;
    try {
      res = await send(url, { method: 'GET', headers, signal });
    } catch (err) {
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
    const body = JSON.parse((await readBody(res.body, 1 << 20)).toString('utf8')) as { token?: string; access_token?: string; expires_in?: number };
    const token = body.token ?? body.access_token;
    if (!token) throw unavailable('ERR_TOKEN_SERVER', `token server ${url.origin} returned no token`, {});
    // Spec default lifetime is 60 s; renew 10 s early so a token never expires in flight.
    const life = (typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 60) * 1000;
    return { token, expiresAt: Date.now() + Math.max(life - 10_000, life / 2) };
  }
}
