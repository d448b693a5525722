import type { Matcher } from './matchers.js';

/** A silence as Alertmanager's API v2 describes it (the fields wekube shows). */
export interface Silence {
  id: string;
  matchers: { name: string; value: string; isRegex: boolean; isEqual?: boolean }[];
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
  status: { state: 'active' | 'pending' | 'expired' };
}

export class AlertmanagerError extends Error {
  constructor(
    readonly status: number | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'AlertmanagerError';
  }
}

/** The parts of Alertmanager's API v2 wekube uses: silences (../shared/reference/alertmanager.md §1.4). */
export class AlertmanagerApi {
  constructor(
    private readonly baseUrl: string,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  async #request(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<unknown> {
    const url = new URL(path, this.baseUrl.endsWith('/') ? this.baseUrl : `${this.baseUrl}/`);
    let response: Response;
    try {
      response = await this.fetchImpl(url, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
    } catch (error) {
      throw new AlertmanagerError(undefined, `cannot reach Alertmanager: ${((error as Error).cause as Error)?.message ?? (error as Error).message}`);
    }
    const text = await response.text();
    if (!response.ok) throw new AlertmanagerError(response.status, text.trim().slice(0, 300) || `HTTP ${response.status}`);
    return text ? (JSON.parse(text) as unknown) : undefined;
  }

  async createSilence(silence: { matchers: Matcher[]; startsAt: Date; endsAt: Date; createdBy: string; comment: string }): Promise<string> {
    const body = {
      matchers: silence.matchers.map((m) => ({ name: m.name, value: m.value, isRegex: m.operator === '=~' || m.operator === '!~', isEqual: m.operator === '=' || m.operator === '=~' })),
      startsAt: silence.startsAt.toISOString(),
      endsAt: silence.endsAt.toISOString(),
      createdBy: silence.createdBy,
      comment: silence.comment,
    };
    const result = (await this.#request('POST', 'api/v2/silences', body)) as { silenceID: string };
    return result.silenceID;
  }

  async silences(): Promise<Silence[]> {
    return (await this.#request('GET', 'api/v2/silences')) as Silence[];
  }

  async expireSilence(id: string): Promise<void> {
    await this.#request('DELETE', `api/v2/silence/${encodeURIComponent(id)}`);
  }
}
