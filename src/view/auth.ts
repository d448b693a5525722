import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Recipient } from '../config/schema.js';
import type { WecomApi } from '../wecom/api.js';

/** How long a link in a message lets its recipient in without logging in. */
export const LINK_TTL_MS = 7 * 24 * 3_600_000;
/** How long a page session lasts once someone is in (by link or by WeCom's web login). */
export const SESSION_TTL_MS = 12 * 3_600_000;
/** How long the web login may take between leaving for WeCom and coming back (WeCom's code lives 5 minutes). */
export const LOGIN_TTL_MS = 10 * 60_000;

export interface ViewAuthOptions {
  /** Signs links and sessions; derived from the app's own secrets so every replica agrees. */
  key: Buffer;
  now: () => number;
  /** Where the pages are opened; links and the web login's redirect point here. */
  publicUrl?: string;
  /** WeCom's web login (网页授权), when the self-built app is configured. */
  oauth?: { base: string; corpId: string; agentId: number; api: Pick<WecomApi, 'call'> };
}

/** Who a login turned out to be: a member of the company (userid) or someone else (an openid only). */
export type LoginResult = { member: true; userid: string } | { member: false; reason: 'outsider' | 'code' };

/**
 * Who may open a page. Two ways in, both ending in a session cookie that names a WeCom userid:
 * - a link from a message to one user, signed and expiring, bound to that user (`?t=`); it is swapped for a session
 *   at once, so the token does not stay in the address bar or the history;
 * - WeCom's web login (网页授权, scope snsapi_base): the page sends the browser to WeCom, which comes back with a
 *   code, which `auth/getuserinfo` turns into the member's userid. Someone outside the company gets an openid, never
 *   a userid, and is refused.
 * Permissions are then the chat's: the page needs the command it shows (`alerts`, `drill`).
 */
export class ViewAuth {
  constructor(private readonly options: ViewAuthOptions) {}

  get canLogin(): boolean {
    return this.options.oauth !== undefined && this.options.publicUrl !== undefined;
  }

  /**
   * The page's address for a message: bound to its recipient when that is one person, else plain, for readers who
   * log in (none without WeCom's web login: nobody could open it).
   */
  link(path: string, to: Recipient): string | undefined {
    const user = 'user' in to ? to.user : undefined;
    if (!this.options.publicUrl || (!user && !this.canLogin)) return undefined;
    const url = new URL(path, this.options.publicUrl);
    if (user) url.searchParams.set('t', this.#sign('link', user, this.options.now() + LINK_TTL_MS));
    return url.toString();
  }

  /** The user a link token names, if it is genuine and not expired. */
  linkUser(token: string): string | undefined {
    return this.#verify('link', token);
  }

  session(user: string): string {
    return this.#sign('session', user, this.options.now() + SESSION_TTL_MS);
  }

  sessionUser(value: string): string | undefined {
    return this.#verify('session', value);
  }

  /** Starts a web login: the state to keep in a cookie and the address of WeCom's authorize page. */
  startLogin(): { state: string; url: string } {
    const oauth = this.options.oauth!;
    const state = randomBytes(16).toString('hex');
    const url = new URL('/connect/oauth2/authorize', oauth.base);
    url.searchParams.set('appid', oauth.corpId);
    url.searchParams.set('redirect_uri', new URL('/view/login', this.options.publicUrl).toString());
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('scope', 'snsapi_base');
    url.searchParams.set('state', state);
    url.searchParams.set('agentid', String(oauth.agentId));
    url.hash = 'wechat_redirect';
    return { state, url: url.toString() };
  }

  /** Turns the code WeCom came back with into a member's userid (`auth/getuserinfo`). */
  async finishLogin(code: string): Promise<LoginResult> {
    const answer = await this.options.oauth!.api.call('/cgi-bin/auth/getuserinfo', undefined, { code });
    if (answer.errcode !== 0) return { member: false, reason: 'code' };
    const userid = typeof answer.userid === 'string' ? answer.userid : typeof answer.UserId === 'string' ? answer.UserId : undefined;
    return userid ? { member: true, userid: userid.toLowerCase() } : { member: false, reason: 'outsider' };
  }

  #sign(purpose: string, user: string, expiresAt: number): string {
    const body = `${expiresAt.toString(36)}.${Buffer.from(user).toString('base64url')}`;
    return `${body}.${this.#mac(purpose, body)}`;
  }

  #verify(purpose: string, token: string): string | undefined {
    const [expires, user, mac] = token.split('.');
    if (!expires || !user || !mac || token.split('.').length !== 3) return undefined;
    const expected = Buffer.from(this.#mac(purpose, `${expires}.${user}`));
    const given = Buffer.from(mac);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    if (parseInt(expires, 36) <= this.options.now()) return undefined;
    return Buffer.from(user, 'base64url').toString();
  }

  #mac(purpose: string, body: string): string {
    return createHmac('sha256', this.options.key).update(`${purpose}\u0000${body}`).digest('base64url');
  }
}

/** The pages' signing key, from the secrets every replica is given (none of them is ever shown or logged). */
export function viewKey(secrets: readonly (string | undefined)[]): Buffer | undefined {
  const known = secrets.filter((secret): secret is string => Boolean(secret));
  if (known.length === 0) return undefined;
  return createHmac('sha256', known.join('\u0000')).update('wekube pages').digest();
}
