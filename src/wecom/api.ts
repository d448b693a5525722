import type { Logger } from 'pino';

/** A business error from WeCom (HTTP 200 with a non-zero errcode), or a transport failure (errcode undefined). */
export class WecomApiError extends Error {
  constructor(
    readonly errcode: number | undefined,
    readonly errmsg: string,
    readonly path: string,
  ) {
    super(errcode === undefined ? `${path}: ${errmsg}` : `${path}: errcode ${errcode}: ${errmsg}`);
    this.name = 'WecomApiError';
  }
}

/** Codes that mean the token went bad: refresh once and retry once (wecom-api.md §5.3). */
const TOKEN_CODES = new Set([40014, 41001, 42001]);
/** Codes that mean the app's credentials are wrong: do not retry (a wrong secret repeated bans the IP for an hour). */
const CREDENTIAL_CODES = new Set([40001, 40013, 40091, 41004]);

export interface WecomApiOptions {
  apiBase: string;
  corpId: string;
  secret: string;
  agentId: number;
  logger: Logger;
  fetch?: typeof fetch;
  now?: () => number;
  timeoutMs?: number;
  /** How long to stop asking for a token after a credentials error. */
  credentialCooldownMs?: number;
}

export interface WecomResponse {
  errcode: number;
  errmsg: string;
  [field: string]: unknown;
}

export class WecomApi {
  readonly #fetch: typeof fetch;
  readonly #now: () => number;
  #token: { value: string; expiresAt: number } | undefined;
  #refreshing: Promise<string> | undefined;
  #blocked: { until: number; error: WecomApiError } | undefined;

  constructor(private readonly options: WecomApiOptions) {
    this.#fetch = options.fetch ?? fetch;
    this.#now = options.now ?? Date.now;
  }

  get agentId(): number {
    return this.options.agentId;
  }

  /** For readiness: whether a token could be had, and why not. No secrets in it. */
  tokenState(): { ok: boolean; detail: string } {
    if (this.#blocked && this.#blocked.until > this.#now()) return { ok: false, detail: this.#blocked.error.message };
    if (this.#token && this.#token.expiresAt > this.#now()) return { ok: true, detail: 'token cached' };
    return { ok: true, detail: 'no token yet' };
  }

  /** A valid access token; refreshed ahead of expiry, with one refresh in flight at a time. */
  async token(force = false): Promise<string> {
    const now = this.#now();
    if (this.#blocked && this.#blocked.until > now) throw this.#blocked.error;
    if (!force && this.#token && this.#token.expiresAt > now) return this.#token.value;
    this.#refreshing ??= this.#fetchToken().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  async #fetchToken(): Promise<string> {
    const url = new URL('/cgi-bin/gettoken', this.options.apiBase);
    url.searchParams.set('corpid', this.options.corpId);
    url.searchParams.set('corpsecret', this.options.secret);
    const started = this.#now();
    const body = await this.#request('/cgi-bin/gettoken', url, { method: 'GET' });
    if (body.errcode !== 0) {
      const error = new WecomApiError(body.errcode, body.errmsg, '/cgi-bin/gettoken');
      if (CREDENTIAL_CODES.has(body.errcode)) {
        const cooldown = this.options.credentialCooldownMs ?? 10 * 60_000;
        this.#blocked = { until: this.#now() + cooldown, error };
        this.options.logger.error(
          { errcode: body.errcode, retryInSeconds: cooldown / 1000 },
          'WeCom refused the app credentials; check WECOM_CORP_ID and WECOM_SECRET (not retrying for a while: repeated failures ban the IP)',
        );
      }
      throw error;
    }
    const token = body.access_token;
    const lifetime = Number(body.expires_in ?? 7200) * 1000;
    if (typeof token !== 'string' || !token) throw new WecomApiError(undefined, 'gettoken answered without a token', '/cgi-bin/gettoken');
    // Counted as expired five minutes (or a tenth of its life) early, so no call goes out with a dying token.
    const margin = Math.min(5 * 60_000, lifetime / 10);
    this.#token = { value: token, expiresAt: started + lifetime - margin };
    this.#blocked = undefined;
    return token;
  }

  /** Calls an access_token API; on a stale-token code refreshes once and retries once. */
  async call(path: string, body?: unknown, query: Record<string, string> = {}): Promise<WecomResponse> {
    for (let attempt = 0; ; attempt++) {
      const token = await this.token(attempt > 0);
      const url = new URL(path, this.options.apiBase);
      url.searchParams.set('access_token', token);
      for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
      const response = await this.#request(path, url, body === undefined ? { method: 'GET' } : { method: 'POST', body });
      if (TOKEN_CODES.has(response.errcode) && attempt === 0) {
        this.options.logger.info({ path, errcode: response.errcode }, 'WeCom token rejected; refreshing once');
        this.#token = undefined;
        continue;
      }
      return response;
    }
  }

  /** A group robot webhook: no token, the key is in the URL. */
  async robot(key: string, body: unknown): Promise<WecomResponse> {
    const url = new URL('/cgi-bin/webhook/send', this.options.apiBase);
    url.searchParams.set('key', key);
    return this.#request('/cgi-bin/webhook/send', url, { method: 'POST', body });
  }

  async #request(path: string, url: URL, init: { method: 'GET' | 'POST'; body?: unknown }): Promise<WecomResponse> {
    let response: Response;
    try {
      response = await this.#fetch(url, {
        method: init.method,
        headers: init.body === undefined ? {} : { 'content-type': 'application/json' },
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      });
    } catch (error) {
      // The URL holds the token or the secret: only the path is ever reported.
      const reason = (error as Error).name === 'TimeoutError' ? 'timed out' : ((error as Error).cause as Error)?.message ?? (error as Error).message;
      throw new WecomApiError(undefined, `request failed: ${reason}`, path);
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new WecomApiError(undefined, `HTTP ${response.status}`, path);
    }
    let body: unknown;
    try {
      body = await response.json();
    } catch {
      throw new WecomApiError(undefined, 'answer is not JSON', path);
    }
    if (typeof body !== 'object' || body === null || typeof (body as WecomResponse).errcode !== 'number') {
      throw new WecomApiError(undefined, 'answer has no errcode', path);
    }
    return body as WecomResponse;
  }
}
