import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A fake of the WeCom server API, faithful to ../shared/reference/wecom-api.md: business errors are HTTP 200 with
 * errcode/errmsg (and Error-Code headers); the token comes only from the query; content limits count UTF-8 bytes
 * (text truncated at 2048, refused over 5120; app markdown 45002 over 2048; robot markdown 40058 over 4096);
 * per-member limits (30/min, 1000/h) drop the excess *silently*; robots refuse over 20/min with 45009;
 * `enable_duplicate_check` swallows an identical request inside its interval. Switches expire tokens early and
 * inject -1, 45009, HTTP errors or timeouts.
 */

export interface FakeApp {
  agentId: number;
  secret: string;
}

export interface Delivery {
  /** user:<id>, chat:<id> or robot:<key> */
  to: string;
  msgtype: string;
  content: string;
  bytes: number;
  at: number;
  /** Shown to the recipient; false when dropped by a rate limit or swallowed as a duplicate. */
  shown: boolean;
  dropped?: 'rate-limit' | 'duplicate';
  truncated?: boolean;
  request: Record<string, unknown>;
  /** A template card as sent; `content` then holds its text (title, rows, subtitle, buttons) for reading. */
  card?: { task_id: string; button_list?: { text: string; key: string }[]; [field: string]: unknown };
  /** The label that replaced the card's buttons after update_template_card. */
  replacedWith?: string;
  /** How many times update_template_card replaced the whole card (content and card then hold the latest). */
  updates?: number;
}

/**
 * Injected failures: a business error, an HTTP status, an answer delayed after the request was processed, or a
 * hang (nothing processed, no answer until the client gives up).
 */
export type Fault = { errcode: number; errmsg?: string } | { http: number } | { delayMs: number } | { hang: true };

export interface FakeWecomOptions {
  corpId: string;
  apps: FakeApp[];
  /** Known members; others come back in invaliduser. */
  users: string[];
  chats?: string[];
  robots?: string[];
  tokenTtlSeconds?: number;
  /** Per-member windows for app messages (default 30/min, 1000/h). */
  memberLimits?: { windowMs: number; max: number }[];
  robotLimit?: { windowMs: number; max: number };
  chatLimit?: { windowMs: number; max: number };
  /** Every send is answered this much later (after it is processed), like a slow network. */
  latencyMs?: number;
  now?: () => number;
}

const ERRMSG: Record<number, string> = {
  [-1]: 'system busy',
  40001: 'invalid credential',
  40013: 'invalid corpid',
  40014: 'invalid access_token',
  40029: 'invalid code',
  40035: 'invalid parameter',
  40058: 'invalid Request Parameter',
  41001: 'access_token missing',
  41004: 'corpsecret missing',
  42001: 'access_token expired',
  44004: 'empty content',
  45002: 'content size out of limit',
  45009: 'api freq out of limit',
  60111: 'userid not found',
  81013: 'user & party & tag all invalid',
  82001: 'All touser & toparty & totag invalid',
  86003: 'chatid not exist',
  93000: 'invalid webhook url',
  301002: 'not allow operate another agent with this accesstoken.',
};

const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

function truncateUtf8(text: string, limit: number): string {
  const buffer = Buffer.from(text, 'utf8').subarray(0, limit);
  return new TextDecoder('utf-8').decode(buffer).replace(/\uFFFD$/, '');
}

export class FakeWecom {
  readonly deliveries: Delivery[] = [];
  /** Every API request, in arrival order: path, when it came and was answered, and a message/send's touser. */
  readonly requests: { path: string; at: number; answeredAt?: number; errcode?: number; to?: string }[] = [];
  gettokenCalls = 0;
  #server: Server;
  #now: () => number;
  readonly #aibotCodes = new Map<string, { conversation: string; used: boolean; expiresAt: number }>();
  #tokens = new Map<string, { agentId: number; secret: string; expiresAt: number }>();
  #current = new Map<string, string>();
  #faults = new Map<string, Fault[]>();
  #standing = new Map<string, Fault>();
  #sentRequests = new Map<string, number>();
  #open = new Set<ServerResponse>();
  /** response_code -> what it may update; single-use, 72 h (wecom-api.md §4.4). */
  #responseCodes = new Map<string, { taskId: string; users: string[]; used: boolean; expiresAt: number }>();
  url = '';
  /**
   * Who is using the browser that opens WeCom's web login (网页授权): a member (userid), someone outside the company
   * (an openid only), or nobody signed in to WeCom (the page says to open the link in the WeCom client).
   */
  browser: { userid: string } | { openid: string } | undefined;
  /** OAuth codes: single use, 5 minutes. */
  readonly #oauthCodes = new Map<string, { identity: { userid: string } | { openid: string }; used: boolean; expiresAt: number }>();
  /** Group chats the app created, as appchat/create received them. */
  readonly chatsCreated: { chatid: string; name: string; owner?: string; userlist: string[] }[] = [];

  constructor(readonly options: FakeWecomOptions) {
    this.#now = options.now ?? Date.now;
    this.#server = createServer((req, res) => void this.#handle(req, res));
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    for (const res of this.#open) res.destroy();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** The next requests to `path` fail in turn with these faults. */
  inject(path: string, ...faults: Fault[]): void {
    this.#faults.set(path, [...(this.#faults.get(path) ?? []), ...faults]);
  }

  /** Every request to `path` fails with this fault until `outage(path, undefined)`: WeCom having a bad time. */
  outage(path: string, fault: Fault | undefined): void {
    if (fault) this.#standing.set(path, fault);
    else this.#standing.delete(path);
  }

  /** Invalidates every token now, as WeCom may ("提前使access_token失效"). */
  expireTokens(): void {
    for (const token of this.#tokens.values()) token.expiresAt = this.#now() - 1;
    this.#current.clear();
  }

  /**
   * The response_url WeCom puts in an AI bot callback: one answer, within an hour, shown in `conversation`
   * (`group:<chatid>` or `user:<userid>`), quoting the message it answers (wecom-aibot.md §1.3.6).
   */
  aibotResponseUrl(conversation: string): string {
    const code = randomBytes(16).toString('hex');
    this.#aibotCodes.set(code, { conversation, used: false, expiresAt: this.#now() + 3_600_000 });
    return `${this.url}/cgi-bin/aibot/response?response_code=${code}`;
  }

  #aibotResponse(url: URL, raw: string): Record<string, unknown> {
    const code = this.#aibotCodes.get(url.searchParams.get('response_code') ?? '');
    if (!code || code.used || code.expiresAt <= this.#now()) return this.#error(40058, 'invalid response_code');
    let request: { msgtype?: string; markdown?: { content?: string }; template_card?: unknown };
    try {
      request = JSON.parse(raw) as typeof request;
    } catch {
      return this.#error(40035, 'Warning: wrong json format.');
    }
    const content = request.markdown?.content;
    if (request.msgtype !== 'markdown' || typeof content !== 'string' || !content) return this.#error(40008, 'invalid message type');
    if (bytes(content) > 20_480) return this.#error(40058, 'markdown.content exceed max length 20480');
    code.used = true;
    this.#record({ to: code.conversation, msgtype: 'markdown', content, bytes: bytes(content), at: this.#now(), shown: true, request: request as Record<string, unknown> });
    return { errcode: 0, errmsg: 'ok' };
  }

  /** A code as WeCom puts in a template_card_event when a user clicks a card's button. */
  clickCode(taskId: string, user: string): string {
    return this.#issueCode(taskId, [user]);
  }

  #issueCode(taskId: string, users: string[]): string {
    const code = randomBytes(16).toString('hex');
    this.#responseCodes.set(code, { taskId, users, used: false, expiresAt: this.#now() + 72 * 3_600_000 });
    return code;
  }

  /** What a recipient actually saw, in order. */
  shown(to: string): Delivery[] {
    return this.deliveries.filter((d) => d.to === to && d.shown);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.#open.add(res);
    res.on('close', () => this.#open.delete(res));
    const url = new URL(req.url ?? '/', 'http://fake');
    const record: (typeof this.requests)[number] = { path: url.pathname, at: this.#now() };
    this.requests.push(record);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    if (url.pathname === '/cgi-bin/message/send') {
      try {
        record.to = `user:${String((JSON.parse(raw) as { touser?: unknown }).touser)}`;
      } catch {
        // not JSON: answered as WeCom would below
      }
    }

    if (url.pathname === '/connect/oauth2/authorize') return this.#authorize(url, res);

    const fault = this.#faults.get(url.pathname)?.shift() ?? this.#standing.get(url.pathname);
    if (fault && 'hang' in fault) return; // the socket stays open until the client aborts or stop() destroys it
    if (fault && 'http' in fault) {
      res.writeHead(fault.http).end();
      return;
    }
    let body: Record<string, unknown>;
    if (fault && 'errcode' in fault) body = this.#error(fault.errcode, fault.errmsg);
    else body = this.#route(url, req.method ?? 'GET', raw);
    // A slow answer: the request is processed (a message is delivered) and the answer comes late or never.
    const delay = (fault && 'delayMs' in fault ? fault.delayMs : 0) + (url.pathname === '/cgi-bin/gettoken' ? 0 : this.options.latencyMs ?? 0);
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    if (res.destroyed) return;
    if (body === NOT_FOUND) {
      res.writeHead(404).end();
      return;
    }
    record.errcode = body.errcode as number;
    record.answeredAt = this.#now();
    const json = JSON.stringify(body);
    res.writeHead(200, {
      'content-type': 'application/json; charset=UTF-8',
      'error-code': String(body.errcode),
      'error-msg': String(body.errmsg),
      server: 'nginx',
    });
    res.end(json);
  }

  /**
   * WeCom's web login page: for the corp's own app and scope, it sends the browser back to redirect_uri with a code
   * (and the state) for whoever is signed in; otherwise it shows an error page, as WeCom does.
   */
  #authorize(url: URL, res: ServerResponse): void {
    const page = (text: string): void => void res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(`<!doctype html><title>企业微信</title><p>${text}</p>`);
    const redirect = url.searchParams.get('redirect_uri');
    if (url.searchParams.get('appid') !== this.options.corpId) return page('参数错误：appid');
    if (url.searchParams.get('response_type') !== 'code' || !['snsapi_base', 'snsapi_privateinfo'].includes(url.searchParams.get('scope') ?? '')) return page('参数错误：scope');
    if (!redirect || !/^https?:\/\//.test(redirect)) return page('redirect_uri 参数错误');
    if (!this.browser) return page('请在企业微信客户端打开链接');
    const code = randomBytes(24).toString('base64url');
    this.#oauthCodes.set(code, { identity: this.browser, used: false, expiresAt: this.#now() + 5 * 60_000 });
    const back = new URL(redirect);
    back.searchParams.set('code', code);
    back.searchParams.set('state', url.searchParams.get('state') ?? '');
    res.writeHead(302, { location: back.toString() }).end();
  }

  #error(errcode: number, errmsg?: string): Record<string, unknown> {
    const hint = randomBytes(8).toString('hex');
    return {
      errcode,
      errmsg: `${errmsg ?? ERRMSG[errcode] ?? 'error'}, hint: [${hint}], from ip: 127.0.0.1, more info at https://open.work.weixin.qq.com/devtool/query?e=${errcode}`,
    };
  }

  #route(url: URL, method: string, raw: string): Record<string, unknown> {
    const path = url.pathname;
    if (path === '/cgi-bin/gettoken' && method === 'GET') return this.#gettoken(url);
    if (path === '/cgi-bin/webhook/send' && method === 'POST') return this.#robot(url, raw);
    if (path === '/cgi-bin/aibot/response' && method === 'POST') return this.#aibotResponse(url, raw);
    const known = ['/cgi-bin/message/send', '/cgi-bin/appchat/send', '/cgi-bin/appchat/create', '/cgi-bin/user/get', '/cgi-bin/message/update_template_card', '/cgi-bin/auth/getuserinfo'];
    if (!known.includes(path)) return NOT_FOUND;

    // The token is checked before anything else, and only taken from the query.
    const tokenValue = url.searchParams.get('access_token');
    if (!tokenValue) return this.#error(41001);
    const token = this.#tokens.get(tokenValue);
    if (!token) return this.#error(40014);
    if (token.expiresAt <= this.#now()) return this.#error(42001);

    if (path === '/cgi-bin/auth/getuserinfo') {
      const code = this.#oauthCodes.get(url.searchParams.get('code') ?? '');
      if (!code || code.used || code.expiresAt <= this.#now()) return this.#error(40029);
      code.used = true;
      return { errcode: 0, errmsg: 'ok', ...code.identity };
    }
    if (path === '/cgi-bin/user/get') {
      const userid = (url.searchParams.get('userid') ?? '').toLowerCase();
      if (!this.options.users.includes(userid)) return { ...this.#error(60111), department: [], order: [] };
      return { errcode: 0, errmsg: 'ok', userid, name: userid, department: [1], status: 1 };
    }

    let request: Record<string, unknown>;
    try {
      request = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      return this.#error(40035, 'Warning: wrong json format.');
    }
    if (path === '/cgi-bin/message/update_template_card') return this.#updateCard(token.agentId, request);
    if (path === '/cgi-bin/appchat/create') return this.#appchatCreate(request);
    return path === '/cgi-bin/message/send' ? this.#messageSend(token.agentId, request) : this.#appchatSend(request);
  }

  #gettoken(url: URL): Record<string, unknown> {
    this.gettokenCalls++;
    const corpid = url.searchParams.get('corpid');
    const secret = url.searchParams.get('corpsecret');
    if (!secret) return this.#error(41004);
    if (corpid !== this.options.corpId) return this.#error(40013);
    const app = this.options.apps.find((candidate) => candidate.secret === secret);
    if (!app) return this.#error(40001);
    const ttl = this.options.tokenTtlSeconds ?? 7200;
    // Same token on repeat calls until it expires (wecom-api.md §4.1).
    const current = this.#current.get(secret);
    if (current && this.#tokens.get(current)!.expiresAt > this.#now()) {
      const remaining = Math.round((this.#tokens.get(current)!.expiresAt - this.#now()) / 1000);
      return { errcode: 0, errmsg: 'ok', access_token: current, expires_in: remaining };
    }
    const value = randomBytes(96).toString('base64url');
    this.#tokens.set(value, { agentId: app.agentId, secret, expiresAt: this.#now() + ttl * 1000 });
    this.#current.set(secret, value);
    return { errcode: 0, errmsg: 'ok', access_token: value, expires_in: ttl };
  }

  /** Content checks shared by app messages; null when fine. */
  #content(request: Record<string, unknown>, markdownLimit: number, markdownCode: number): { error?: Record<string, unknown>; content?: string; truncated?: boolean; card?: Delivery['card'] } {
    const msgtype = request.msgtype;
    if (msgtype === 'template_card') return this.#card(request.template_card);
    const body = request[msgtype as string] as { content?: unknown } | undefined;
    if (msgtype !== 'text' && msgtype !== 'markdown') return { error: this.#error(40008, 'invalid message type') };
    const content = typeof body?.content === 'string' ? body.content : '';
    if (!content) return { error: this.#error(44004) };
    const size = bytes(content);
    if (msgtype === 'markdown' && size > markdownLimit) {
      return { error: markdownCode === 40058 ? this.#error(40058, `markdown.content exceed max length ${markdownLimit}`) : this.#error(markdownCode) };
    }
    if (msgtype === 'text' && size > 5120) return { error: this.#error(40058, 'text.content exceed max length 5120. Invalid input') };
    if (msgtype === 'text' && size > 2048) return { content: truncateUtf8(content, 2048), truncated: true };
    return { content };
  }

  /** button_interaction cards as wecom-api.md §4.3 describes them; the others are not used by wekube. */
  #card(card: unknown): { error?: Record<string, unknown>; content?: string; card?: Delivery['card'] } {
    const c = card as Delivery['card'] & { card_type?: string; main_title?: { title?: string }; sub_title_text?: string; horizontal_content_list?: { keyname: string; value: string }[] };
    if (!c || c.card_type !== 'button_interaction') return { error: this.#error(40035, 'invalid template_card.card_type') };
    if (typeof c.task_id !== 'string' || !/^[0-9A-Za-z_\-@]{1,128}$/.test(c.task_id)) return { error: this.#error(40035, 'invalid template_card.task_id') };
    const buttons = c.button_list ?? [];
    if (buttons.length === 0 || buttons.length > 6) return { error: this.#error(40035, 'invalid template_card.button_list') };
    if (buttons.some((button) => !button.key || bytes(button.key) > 1024)) return { error: this.#error(40035, 'invalid template_card.button_list.key') };
    if (!c.main_title?.title && !c.sub_title_text) return { error: this.#error(40035, 'template_card needs main_title.title or sub_title_text') };
    if ((c.horizontal_content_list ?? []).length > 6) return { error: this.#error(40035, 'invalid template_card.horizontal_content_list') };
    // Jump links: at most 3; a type-1 link needs a title and a URL with its scheme, at most 2048 bytes (§4.3).
    const jumps = (c as { jump_list?: { type?: number; title?: string; url?: string }[] }).jump_list ?? [];
    if (jumps.length > 3 || jumps.some((jump) => jump.type !== 1 || !jump.title || !/^https?:\/\//.test(jump.url ?? '') || bytes(jump.url!) > 2048)) {
      return { error: this.#error(40035, 'invalid template_card.jump_list') };
    }
    const content = [
      c.main_title?.title ?? '',
      ...(c.horizontal_content_list ?? []).map((row) => `${row.keyname}：${row.value}`),
      c.sub_title_text ?? '',
      ...jumps.map((jump) => `[${jump.title}](${jump.url})`),
      ...buttons.map((button) => `[${button.text}] ${button.key}`),
    ].join('\n');
    return { content, card: c };
  }

  #updateCard(agentId: number, request: Record<string, unknown>): Record<string, unknown> {
    // Alertmanager sends agentid as a JSON string; WeCom takes either.
    if (Number(request.agentid) !== agentId) return this.#error(301002);
    const code = this.#responseCodes.get(String(request.response_code));
    if (!code || code.used || code.expiresAt <= this.#now()) return this.#error(40058, 'invalid response_code');
    code.used = true;
    const users = Array.isArray(request.userids) ? (request.userids as string[]).map((u) => u.toLowerCase()) : code.users;
    const replaceName = (request.button as { replace_name?: string } | undefined)?.replace_name;
    // Either the buttons give way to a grey label, or the whole card is replaced (wecom-api.md §4.4).
    const replacement = request.template_card === undefined ? undefined : this.#card(request.template_card);
    if (replacement?.error) return replacement.error;
    for (const delivery of this.deliveries) {
      if (delivery.card?.task_id !== code.taskId || !users.some((user) => delivery.to === `user:${user}`)) continue;
      if (replacement) {
        delivery.card = replacement.card;
        delivery.content = replacement.content!;
        delivery.updates = (delivery.updates ?? 0) + 1;
      } else delivery.replacedWith = replaceName;
    }
    return { errcode: 0, errmsg: 'ok' };
  }

  /** Deliveries per recipient, so a rate-limit check costs that recipient's recent messages, not every delivery. */
  readonly #byRecipient = new Map<string, Delivery[]>();

  #record(delivery: Delivery): void {
    this.deliveries.push(delivery);
    let list = this.#byRecipient.get(delivery.to);
    if (!list) this.#byRecipient.set(delivery.to, (list = []));
    list.push(delivery);
  }

  #overLimit(to: string, windows: { windowMs: number; max: number }[]): boolean {
    const now = this.#now();
    const list = this.#byRecipient.get(to) ?? [];
    return windows.some(({ windowMs, max }) => {
      let count = 0;
      for (let i = list.length - 1; i >= 0 && list[i]!.at > now - windowMs; i--) if (!list[i]!.dropped) count++;
      return count >= max;
    });
  }

  #messageSend(agentId: number, request: Record<string, unknown>): Record<string, unknown> {
    // Alertmanager sends agentid as a JSON string; WeCom takes either.
    if (Number(request.agentid) !== agentId) return this.#error(301002);
    const touser = typeof request.touser === 'string' ? request.touser : '';
    if (!touser) return this.#error(82001);
    const checked = this.#content(request, 2048, 45002);
    if (checked.error) return checked.error;

    const users = touser.split('|').map((user) => user.toLowerCase());
    const invalid = users.filter((user) => !this.options.users.includes(user));
    if (invalid.length === users.length) return this.#error(81013);

    let duplicate = false;
    if (request.enable_duplicate_check === 1) {
      const key = JSON.stringify(request);
      const interval = (typeof request.duplicate_check_interval === 'number' ? request.duplicate_check_interval : 1800) * 1000;
      const last = this.#sentRequests.get(key);
      duplicate = last !== undefined && this.#now() - last < interval;
      if (!duplicate) this.#sentRequests.set(key, this.#now());
    }
    const windows = this.options.memberLimits ?? [
      { windowMs: 60_000, max: 30 },
      { windowMs: 3_600_000, max: 1000 },
    ];
    for (const user of users.filter((u) => !invalid.includes(u))) {
      const to = `user:${user}`;
      const dropped = duplicate ? 'duplicate' : this.#overLimit(to, windows) ? 'rate-limit' : undefined;
      this.#record({
        to,
        msgtype: request.msgtype as string,
        content: checked.content!,
        bytes: bytes(checked.content!),
        at: this.#now(),
        shown: !dropped,
        dropped,
        truncated: checked.truncated,
        request,
        card: checked.card,
      });
    }
    const answer: Record<string, unknown> = { errcode: 0, errmsg: 'ok', msgid: randomBytes(64).toString('base64url').slice(0, 86) };
    if (checked.card) answer.response_code = this.#issueCode(checked.card.task_id, users);
    if (invalid.length > 0) answer.invaliduser = invalid.join('|');
    return answer;
  }

  /** appchat/create as wecom-api.md §4.6 describes it: 2–2000 known members, a name of at most 50 characters. */
  #appchatCreate(request: Record<string, unknown>): Record<string, unknown> {
    const userlist = Array.isArray(request.userlist) ? (request.userlist as unknown[]).map((user) => String(user).toLowerCase()) : [];
    if (userlist.length < 2 || userlist.length > 2000) return this.#error(86216, 'invalid userlist: 2 to 2000 members');
    if (userlist.some((user) => !this.options.users.includes(user))) return this.#error(60111);
    if (request.owner !== undefined && !userlist.includes(String(request.owner).toLowerCase())) return this.#error(86217, 'owner not in userlist');
    const chatid = typeof request.chatid === 'string' && request.chatid ? request.chatid : `wr${randomBytes(12).toString('hex')}`;
    if (!/^[0-9a-zA-Z]{1,32}$/.test(chatid)) return this.#error(86001);
    this.options.chats = [...(this.options.chats ?? [])];
    if (this.options.chats.includes(chatid)) return this.#error(86215, '会话ID已经存在');
    this.options.chats.push(chatid);
    this.chatsCreated.push({ chatid, name: String(request.name ?? '').slice(0, 50), owner: request.owner as string | undefined, userlist });
    return { errcode: 0, errmsg: 'ok', chatid };
  }

  #appchatSend(request: Record<string, unknown>): Record<string, unknown> {
    const chatid = typeof request.chatid === 'string' ? request.chatid : '';
    if (!(this.options.chats ?? []).includes(chatid)) return this.#error(86003);
    const checked = this.#content(request, 2048, 45002);
    if (checked.error) return checked.error;
    const to = `chat:${chatid}`;
    const dropped = this.#overLimit(to, [this.options.chatLimit ?? { windowMs: 60_000, max: 200 }]) ? 'rate-limit' : undefined;
    this.#record({ to, msgtype: request.msgtype as string, content: checked.content!, bytes: bytes(checked.content!), at: this.#now(), shown: !dropped, dropped, truncated: checked.truncated, request });
    return { errcode: 0, errmsg: 'ok' };
  }

  #robot(url: URL, raw: string): Record<string, unknown> {
    const key = url.searchParams.get('key') ?? '';
    if (!(this.options.robots ?? []).includes(key)) return this.#error(93000);
    let request: Record<string, unknown>;
    try {
      request = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      return this.#error(40035, 'Warning: wrong json format.');
    }
    const checked = this.#content(request, 4096, 40058);
    if (checked.error) return checked.error;
    const to = `robot:${key}`;
    // Robots answer the excess with an error rather than dropping it (wecom-api.md §4.7).
    if (this.#overLimit(to, [this.options.robotLimit ?? { windowMs: 60_000, max: 20 }])) return this.#error(45009);
    this.#record({ to, msgtype: request.msgtype as string, content: checked.content!, bytes: bytes(checked.content!), at: this.#now(), shown: true, truncated: checked.truncated, request });
    return { errcode: 0, errmsg: 'ok' };
  }
}

const NOT_FOUND: Record<string, unknown> = {};
