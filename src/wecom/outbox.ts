import type { Logger } from 'pino';
import TinyQueue from 'tinyqueue';
import { systemClock, type Clock, type Timer } from '../clock/clock.js';
import { recipientKey, recipientLabel, type Recipient } from '../config/schema.js';
import { fenced, type Fence, type SqlClient, type Statement } from '../store/sql.js';
import { WecomApiError, type WecomApi, type WecomResponse } from './api.js';
import { paginate } from './split.js';

/**
 * The durable queue of everything wekube sends to WeCom. Its stages, in order:
 *  1. persist: `enqueue` returns once the message, split within the byte limit, is committed;
 *  2. throttle: per recipient, sliding windows a little wider than WeCom's (it drops the excess silently);
 *  3. send: one message at a time per recipient, in order, urgent replies before digests;
 *  4. retry: transport errors, HTTP errors, -1 and 45009 are retried for as long as `giveUpAfterMs` (hours): an
 *     outage of WeCom never costs a message; credentials and IP errors pause all sending;
 *  5. give up: permanent errors (unknown user, removed robot, ...) and transient ones past the horizon are logged,
 *     counted, kept in `failed` and reported to ops by another route (`onGiveUp`): never silent.
 * A message is removed only after WeCom accepted it. After a crash between the two it is sent again with the same
 * request body, and `enable_duplicate_check` makes WeCom show it once (robots and app chats have no such check).
 */

/** `template_card` and `update_template_card` entries hold their JSON body as content, never split. */
export type MessageType = 'text' | 'markdown' | 'template_card' | 'update_template_card';

export interface OutboxEntry {
  id: number;
  target: Recipient;
  msgtype: MessageType;
  content: string;
  urgent: boolean;
  createdAt: number;
  attempts: number;
  notBefore: number;
  /** When the current run of failures began: transient errors are retried until `giveUpAfterMs` past it. */
  firstErrorAt?: number;
  lastError?: string;
  /** The entry's number among its recipient's messages; sets the duplicate-check interval. */
  recipientSeq: number;
}

export interface FailedEntry {
  entry: OutboxEntry;
  reason: string;
  at: number;
}

export interface EnqueueOptions {
  /** Goes before digests in the recipient's queue (a reply the user is waiting for). */
  urgent?: boolean;
  /** Writes committed in the same transaction as the queued message (the inbox marking it done). */
  alongside?: readonly Statement[];
  /** The producer's id for this message: a second enqueue with the same key is ignored. */
  key?: string;
}

const KEY_RETENTION_MS = 24 * 3_600_000;

export interface Window {
  windowMs: number;
  max: number;
}

/** WeCom's documented limits (wecom-api.md §5.2). */
export const RATE_LIMITS: Record<'user' | 'chat' | 'robot', Window[]> = {
  user: [
    { windowMs: 60_000, max: 30 },
    { windowMs: 3_600_000, max: 1000 },
  ],
  chat: [
    { windowMs: 60_000, max: 200 },
    { windowMs: 86_400_000, max: 10_000 },
  ],
  robot: [{ windowMs: 60_000, max: 20 }],
};

/** Byte limits per recipient kind and message type (wecom-api.md §5.1). */
const BYTE_LIMITS = { text: 2048, markdown: { user: 2048, chat: 2048, robot: 4096 } } as const;

/** How many UTF-8 bytes one text or markdown message to this recipient may hold. */
export const byteLimit = (target: Recipient, msgtype: 'text' | 'markdown'): number =>
  msgtype === 'text' ? BYTE_LIMITS.text : BYTE_LIMITS.markdown[targetKind(target)];

/** Our clock and WeCom's differ by the network: count windows a second longer than WeCom does. */
const WINDOW_MARGIN_MS = 1_000;
const MAX_FAILED_KEPT = 200;
/** The share of each rate window that producers of many messages (alert digests) leave for replies to commands. */
const REPLY_SHARE = 1 / 3;
/** At most this many parts for one message: a reply is bounded before it gets here, this is the last guard. */
const MAX_PARTS = 20;
const UPDATE_ATTEMPT = 'UPDATE outbox SET attempts = ?, not_before = ?, first_error_at = ?, last_error = ? WHERE id = ?';

/**
 * WeCom's duplicate check compares the whole request within `duplicate_check_interval` (at most 4 h). The
 * interval is varied with the recipient's message number over a cycle of 10,000: two messages with the same
 * text to the same member get different requests unless 10,000 messages apart, which at WeCom's 1,000 an hour
 * takes longer than any interval; a resend of one message is byte-identical and shown once.
 */
const DUPLICATE_CYCLE = 10_000;
const duplicateInterval = (recipientSeq: number) => 14_399 - (recipientSeq % DUPLICATE_CYCLE);

/** Worth another try later: WeCom or the network is having a bad moment. */
const TRANSIENT = new Set([-1, 6000, 45033, 45009]);
/** The app cannot send at all until an admin fixes something: pause everything, lose nothing. */
const PAUSING = new Set([40001, 40013, 40056, 40091, 41004, 48002, 50003, 60020, 301002]);

const targetKey = recipientKey;
const targetKind = (target: Recipient): keyof typeof RATE_LIMITS => ('user' in target ? 'user' : 'chat' in target ? 'chat' : 'robot');

export interface OutboxOptions {
  api: WecomApi;
  logger: Logger;
  /** Time for windows, backoff and the pump's wake-ups. */
  clock?: Clock;
  limits?: Record<'user' | 'chat' | 'robot', Window[]>;
  concurrency?: number;
  /** Backoff base for transport errors and -1. */
  retryBaseMs?: number;
  /** Longest wait between two tries of a transient error. */
  retryMaxMs?: number;
  /** Wait after 45009 (a minute window) and after pausing errors. */
  rateWaitMs?: number;
  /** First wait of an urgent message after 45009, doubled on each further one up to `rateWaitMs`. */
  urgentRateWaitMs?: number;
  pauseMs?: number;
  /** How long transient errors are retried before a message is given up. */
  giveUpAfterMs?: number;
  onSent?: (kind: string) => void;
  /** A card WeCom accepted, with the response code that may update it once; runs in the transaction that removes the entry. */
  onCardSent?: (taskId: string, responseCode: string) => readonly Statement[];
  /** A message was given up: counted, and reported to ops by another route. */
  onGiveUp?: (failed: FailedEntry) => void;
  /** With several replicas: sends happen only while this one leads (the send's count carries the fence). */
  fence?: Fence;
}

type Outcome = { ok: true; responseCode?: string } | { ok: false; retryAt?: number; reason: string; pause?: boolean; transient?: boolean };

interface OutboxRow {
  id: number;
  target: string;
  msgtype: MessageType;
  content: string;
  urgent: number;
  created_at: number;
  attempts: number;
  not_before: number;
  first_error_at: number | null;
  last_error: string | null;
  recipient_seq: number;
}

export class Outbox {
  readonly #clock: Clock;
  readonly #now: () => number;
  readonly #limits: Record<'user' | 'chat' | 'robot', Window[]>;
  readonly #inflight = new Map<string, Promise<void>>();
  /**
   * The queue as committed, per recipient in id order: a mirror of the table, changed only after a commit. Kept per
   * recipient so that finding what may go next costs the number of recipients, not the number of messages queued.
   */
  readonly #queues = new Map<string, OutboxEntry[]>();
  #pendingCount = 0;
  /** The ids held in the queues: a row is taken in once, whether its own enqueue or a sync finds it first. */
  readonly #ids = new Set<number>();
  #committing = 0;
  /** When each recipient's windows next allow a message; dropped whenever its send times change. */
  readonly #allowed = new Map<string, number>();
  /** Send times per recipient within the longest window, mirrored from `outbox_sent`. */
  readonly #sent = new Map<string, number[]>();
  /** Recipients with a message waiting and none sending, by when the next may go; see #schedule. */
  #due = new TinyQueue<{ key: string; at: number }>([], byTime);
  /** Each filed recipient's current time in #due (older entries there are stale and skipped). */
  readonly #dueAt = new Map<string, number>();
  #timer: Timer | undefined;
  #pausedUntil = 0;
  #stopping = false;
  #prunedAt = 0;
  /** How a row of outbox_sent is named: SQLite's rowid, PostgreSQL's id column. */
  readonly #sentId: string;

  private constructor(
    private readonly sql: SqlClient,
    private readonly options: OutboxOptions,
  ) {
    this.#clock = options.clock ?? systemClock;
    this.#now = () => this.#clock.now();
    this.#limits = options.limits ?? RATE_LIMITS;
    this.#sentId = sql.dialect === 'sqlite' ? 'rowid' : 'id';
  }

  /** The outbox with what was queued before a restart; it sends once started. */
  static async open(sql: SqlClient, options: OutboxOptions): Promise<Outbox> {
    const outbox = new Outbox(sql, options);
    for (const row of await sql.all<OutboxRow>('SELECT * FROM outbox ORDER BY id')) outbox.#add(fromRow(row));
    if (outbox.#pendingCount > 0) options.logger.info({ pending: outbox.#pendingCount }, 'outbox resumes messages queued before the restart');
    return outbox;
  }

  /** Messages queued, counting those whose commit is under way (so a batch leaving the alert engine never shows as nothing pending). */
  get pending(): number {
    return this.#pendingCount + this.#committing;
  }

  /**
   * How many more messages the recipient can be sent now while a third of each of its windows (the minute, the
   * hour) stays free for replies to commands: for a member 20 of the 30 a minute, for a robot 13 of its 20. Counts
   * what was sent in each window and what is queued. At least 1: a producer always sends something, and the outbox
   * spaces it.
   */
  room(target: Recipient): number {
    const key = targetKey(target);
    const now = this.#now();
    const sent = this.#sent.get(key) ?? [];
    const queued = this.#queues.get(key)?.length ?? 0;
    let room = Infinity;
    for (const { windowMs, max } of this.#limits[targetKind(target)]) {
      room = Math.min(room, Math.floor(max * (1 - REPLY_SHARE)) - sentWithin(sent, windowMs, now).length - queued);
    }
    return Math.max(1, room);
  }

  async failed(): Promise<FailedEntry[]> {
    return (await this.sql.all<{ entry: string; reason: string; at: number }>('SELECT entry, reason, at FROM outbox_failed ORDER BY id')).map((row) => ({ entry: JSON.parse(row.entry) as OutboxEntry, reason: row.reason, at: row.at }));
  }

  /** Splits the content within the recipient's byte limit and commits every part; resolves once committed. */
  async enqueue(target: Recipient, content: string, msgtype: MessageType, options: EnqueueOptions = {}): Promise<void> {
    const { urgent = false, alongside, key } = options;
    const now = this.#now();
    let parts = msgtype === 'text' || msgtype === 'markdown' ? paginate(content, byteLimit(target, msgtype)) : [content];
    if (parts.length > MAX_PARTS) {
      // The numbering ("(20/31)") shows the reader that the rest was not sent.
      this.options.logger.warn({ parts: parts.length, kept: MAX_PARTS }, 'message too long; sending its first parts only');
      parts = parts.slice(0, MAX_PARTS);
    }
    const recipient = targetKey(target);
    this.#committing += parts.length;
    const added = await this.sql.transaction(async (tx) => {
      if (key) {
        if ((await tx.run('INSERT INTO outbox_keys (key, at) VALUES (?, ?) ON CONFLICT (key) DO NOTHING', [key, now])) === 0) return [];
        await tx.run('DELETE FROM outbox_keys WHERE at < ?', [now - KEY_RETENTION_MS]);
      }
      const entries: OutboxEntry[] = [];
      for (const part of parts) {
        const { seq } = (await tx.get<{ seq: number }>('INSERT INTO outbox_recipients (recipient, seq) VALUES (?, 1) ON CONFLICT (recipient) DO UPDATE SET seq = outbox_recipients.seq + 1 RETURNING seq', [recipient]))!;
        const { id } = (await tx.get<{ id: number }>(
          'INSERT INTO outbox (recipient, target, msgtype, content, urgent, created_at, recipient_seq) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id',
          [recipient, JSON.stringify(target), msgtype, part, urgent ? 1 : 0, now, seq],
        ))!;
        entries.push({ id, target, msgtype, content: part, urgent, createdAt: now, attempts: 0, notBefore: 0, recipientSeq: seq });
      }
      for (const { sql, params } of alongside ?? []) await tx.run(sql, params);
      return entries;
    }).finally(() => (this.#committing -= parts.length));
    for (const entry of added) this.#add(entry);
    this.#pump();
  }

  /**
   * Starts sending (when wekube starts, or when this replica becomes the leader). The windows are read again from
   * what was sent, by whichever process sent it: a replica taking over must not exceed what its predecessor used
   * up, or WeCom drops the excess without a word. Then it takes in what other replicas queued.
   */
  async start(): Promise<void> {
    const longest = Math.max(...Object.values(this.#limits).flat().map((w) => w.windowMs)) + WINDOW_MARGIN_MS;
    this.#sent.clear();
    for (const { recipient, at } of await this.sql.all<{ recipient: string; at: number }>('SELECT recipient, at FROM outbox_sent WHERE at > ? ORDER BY at', [this.#now() - longest])) {
      let list = this.#sent.get(recipient);
      if (!list) this.#sent.set(recipient, (list = []));
      list.push(Number(at));
    }
    // Every recipient filed again by the windows just read.
    this.#allowed.clear();
    this.#due = new TinyQueue<{ key: string; at: number }>([], byTime);
    this.#dueAt.clear();
    for (const key of this.#queues.keys()) this.#schedule(key);
    this.#stopping = false;
    await this.sync();
    this.#pump();
  }

  /** Stops sending, waits for the sends in flight, and leaves the rest in the store for the next start. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#timer?.cancel();
    await Promise.allSettled(this.#inflight.values());
  }

  /** Starts every send that is due, earliest first; then sleeps until the next one is. */
  #pump(): void {
    if (this.#stopping) return;
    this.#timer?.cancel();
    this.#timer = undefined;
    const now = this.#now();
    if (this.#pausedUntil > now) {
      if (this.#due.length > 0) this.#timer = this.#clock.after(this.#pausedUntil - now, () => this.#pump());
      return;
    }
    while (this.#inflight.size < (this.options.concurrency ?? 8)) {
      const next = this.#nextDue();
      if (!next || next.at > now) break;
      this.#due.pop();
      this.#dueAt.delete(next.key);
      const entry = headOf(this.#queues.get(next.key)!);
      const sending = this.#send(next.key, entry).finally(() => {
        this.#inflight.delete(next.key);
        this.#schedule(next.key);
        this.#pump();
      });
      this.#inflight.set(next.key, sending);
    }
    const next = this.#nextDue();
    if (next) this.#timer = this.#clock.after(Math.max(next.at - now, 10), () => this.#pump());
  }

  /** The recipient whose message may go soonest, dropping entries that a later schedule replaced. */
  #nextDue(): { key: string; at: number } | undefined {
    for (let top = this.#due.peek(); top; top = this.#due.peek()) {
      if (this.#dueAt.get(top.key) === top.at && !this.#inflight.has(top.key)) return top;
      this.#due.pop();
    }
    return undefined;
  }

  /**
   * Files a recipient under when its next message may go: its head's retry time and its windows. Called whenever
   * either changes (a message queued, a send finished); a recipient sending or with nothing queued is not filed.
   */
  #schedule(key: string): void {
    const queue = this.#queues.get(key);
    if (!queue || this.#inflight.has(key)) {
      this.#dueAt.delete(key);
      return;
    }
    const head = headOf(queue);
    const at = Math.max(head.notBefore, this.#allowedAt(key, head.target, this.#now()));
    if (this.#dueAt.get(key) === at) return;
    this.#dueAt.set(key, at);
    this.#due.push({ key, at });
  }

  /** Takes in what other replicas queued (the leader sends everything): rows in the table this process does not hold. */
  async sync(): Promise<void> {
    const missing = (await this.sql.all<{ id: number }>('SELECT id FROM outbox')).map((row) => row.id).filter((id) => !this.#ids.has(id));
    for (let i = 0; i < missing.length; i += 500) {
      const ids = missing.slice(i, i + 500);
      for (const row of await this.sql.all<OutboxRow>(`SELECT * FROM outbox WHERE id IN (${ids.map(() => '?').join(', ')}) ORDER BY id`, ids)) this.#add(fromRow(row));
    }
    if (missing.length > 0) this.#pump();
  }

  #add(entry: OutboxEntry): void {
    if (this.#ids.has(entry.id)) return;
    this.#ids.add(entry.id);
    const key = targetKey(entry.target);
    let queue = this.#queues.get(key);
    if (!queue) this.#queues.set(key, (queue = []));
    queue.push(entry);
    this.#pendingCount++;
    this.#schedule(key);
  }

  /** When the recipient's windows allow one more message. */
  #allowedAt(key: string, target: Recipient, now: number): number {
    const cached = this.#allowed.get(key);
    if (cached !== undefined) return cached;
    const allowedAt = this.#windowsAllow(key, target, now);
    // Valid until the recipient's send times change (a time that has passed stays passed).
    this.#allowed.set(key, allowedAt);
    return allowedAt;
  }

  #windowsAllow(key: string, target: Recipient, now: number): number {
    const windows = this.#limits[targetKind(target)];
    const longest = Math.max(...windows.map((w) => w.windowMs)) + WINDOW_MARGIN_MS;
    const sent = (this.#sent.get(key) ?? []).filter((at) => at > now - longest);
    if (sent.length === 0) this.#sent.delete(key);
    else this.#sent.set(key, sent);
    let allowedAt = now;
    for (const { windowMs, max } of windows) {
      const inWindow = sentWithin(sent, windowMs, now);
      if (inWindow.length >= max) allowedAt = Math.max(allowedAt, inWindow[inWindow.length - max]! + windowMs + WINDOW_MARGIN_MS + 1);
    }
    return allowedAt;
  }

  async #send(key: string, entry: OutboxEntry): Promise<void> {
    const { logger } = this.options;
    const started = this.#now();
    // Counted, and committed, before sending: a request that timed out may still have been delivered and counted.
    let sentRow: number;
    try {
      const fence = fenced(this.options.fence);
      const counted = await this.sql.get<{ id: number }>(`INSERT INTO outbox_sent (recipient, at) SELECT ?, ? WHERE ${fence.sql} RETURNING ${this.#sentId} AS id`, [key, started, ...fence.params]);
      if (!counted) {
        // No longer the leader: the new one sends it.
        logger.warn({ id: entry.id }, 'not the leader any more; leaving the message to the one that is');
        entry.notBefore = started + 5_000;
        return;
      }
      sentRow = counted.id;
    } catch (error) {
      logger.error({ err: error }, 'outbox cannot write; sending waits for the store');
      entry.notBefore = started + (this.options.retryBaseMs ?? 1_000);
      return;
    }
    const sent = this.#sent.get(key) ?? [];
    sent.push(started);
    this.#sent.set(key, sent);
    this.#allowed.delete(key);

    let outcome: Outcome;
    try {
      const response = await this.#deliver(entry);
      // WeCom answered with an error: nothing was delivered, so the attempt does not count against the windows.
      if (response.errcode !== 0) await this.#uncount(key, started, sentRow);
      outcome = this.#judge(entry, response);
    } catch (error) {
      const pause = error instanceof WecomApiError && error.errcode !== undefined && PAUSING.has(error.errcode);
      outcome = pause ? { ok: false, pause: true, reason: (error as Error).message } : { ok: false, transient: true, reason: (error as Error).message };
    }
    const now = this.#now();
    const attempts = entry.attempts + (outcome.ok || !outcome.pause ? 1 : 0);
    const horizon = this.options.giveUpAfterMs ?? 24 * 3_600_000;
    const firstErrorAt = entry.firstErrorAt ?? now;
    if (!outcome.ok && outcome.transient) {
      if (now - firstErrorAt < horizon) outcome.retryAt ??= now + this.#backoff(attempts);
      else outcome = { ok: false, reason: `${outcome.reason} (still failing after ${Math.round((now - firstErrorAt) / 60_000)} min)` };
    }

    try {
      if (outcome.ok) {
        const code = entry.msgtype === 'template_card' ? outcome.responseCode : undefined;
        await this.sql.batch([
          { sql: 'DELETE FROM outbox WHERE id = ?', params: [entry.id] },
          ...(code ? (this.options.onCardSent?.((JSON.parse(entry.content) as { task_id: string }).task_id, code) ?? []) : []),
        ]);
        this.#dequeue(entry);
        this.options.onSent?.(targetKind(entry.target));
      } else if (outcome.pause) {
        this.#pausedUntil = now + (this.options.pauseMs ?? 10 * 60_000);
        await this.sql.run(UPDATE_ATTEMPT, [attempts, entry.notBefore, entry.firstErrorAt ?? null, outcome.reason, entry.id]);
        entry.lastError = outcome.reason;
        logger.error({ reason: outcome.reason, pausedSeconds: (this.#pausedUntil - now) / 1000 }, 'WeCom refuses the app; sending paused, messages kept');
      } else if (outcome.retryAt !== undefined) {
        await this.sql.run(UPDATE_ATTEMPT, [attempts, outcome.retryAt, firstErrorAt, outcome.reason, entry.id]);
        Object.assign(entry, { attempts, notBefore: outcome.retryAt, firstErrorAt, lastError: outcome.reason });
        logger.warn({ id: entry.id, to: recipientLabel(entry.target), attempt: attempts, reason: outcome.reason }, 'send failed; will retry');
      } else {
        const failed: FailedEntry = { entry: { ...entry, attempts }, reason: outcome.reason, at: now };
        await this.sql.batch([
          { sql: 'DELETE FROM outbox WHERE id = ?', params: [entry.id] },
          { sql: 'INSERT INTO outbox_failed (entry, reason, at) VALUES (?, ?, ?)', params: [JSON.stringify(failed.entry), failed.reason, now] },
          { sql: 'DELETE FROM outbox_failed WHERE id <= (SELECT max(id) FROM outbox_failed) - ?', params: [MAX_FAILED_KEPT] },
        ]);
        this.#dequeue(entry);
        logger.error({ id: entry.id, to: recipientLabel(entry.target), attempts, reason: outcome.reason }, 'message given up');
        this.options.onGiveUp?.(failed);
      }
    } catch (error) {
      // The outcome could not be committed: the entry stays queued and goes again (WeCom's duplicate check hides
      // the repeat of one that was shown).
      entry.notBefore = now + (this.options.retryBaseMs ?? 1_000);
      logger.error({ err: error }, 'outbox could not record a send; will send again');
    }
    if (now - this.#prunedAt > 60_000) {
      this.#prunedAt = now;
      try {
        await this.sql.run('DELETE FROM outbox_sent WHERE at < ?', [now - 86_400_000 - WINDOW_MARGIN_MS]);
      } catch {
        // housekeeping only: the next minute prunes
      }
    }
  }

  async #uncount(key: string, at: number, row: number): Promise<void> {
    const sent = this.#sent.get(key);
    const index = sent?.lastIndexOf(at) ?? -1;
    if (index >= 0) sent!.splice(index, 1);
    this.#allowed.delete(key);
    try {
      await this.sql.run(`DELETE FROM outbox_sent WHERE ${this.#sentId} = ?`, [row]);
    } catch {
      // Kept counted: only ever too careful.
    }
  }

  #judge(entry: OutboxEntry, response: WecomResponse): Outcome {
    const { errcode, errmsg } = response;
    if (errcode === 0) {
      const invalid = String(response.invaliduser ?? '').toLowerCase().split('|');
      if ('user' in entry.target && invalid.includes(entry.target.user)) {
        return { ok: false, reason: `WeCom does not know user ${entry.target.user} (invaliduser)` };
      }
      return { ok: true, responseCode: typeof response.response_code === 'string' ? response.response_code : undefined };
    }
    const reason = `errcode ${errcode}: ${errmsg}`;
    if (errcode === 45009) {
      // A minute window WeCom counts fuller than we do (another sender shares it): the rest waits it out, however many
      // times it comes; an urgent message tries again within seconds, so a slot freed in that minute goes to it first.
      const minute = this.options.rateWaitMs ?? 61_000;
      const wait = entry.urgent ? Math.min((this.options.urgentRateWaitMs ?? 5_000) * 2 ** Math.min(entry.attempts, 10), minute) : minute;
      return { ok: false, transient: true, retryAt: this.#now() + wait, reason };
    }
    if (TRANSIENT.has(errcode)) return { ok: false, transient: true, reason };
    if (PAUSING.has(errcode)) return { ok: false, pause: true, reason };
    return { ok: false, reason };
  }

  #backoff(attempts: number): number {
    const base = this.options.retryBaseMs ?? 1_000;
    return Math.min(base * 2 ** Math.min(attempts - 1, 20), this.options.retryMaxMs ?? 5 * 60_000);
  }

  #dequeue(entry: OutboxEntry): void {
    const key = targetKey(entry.target);
    const queue = this.#queues.get(key);
    const index = queue?.indexOf(entry) ?? -1;
    if (index < 0) return;
    queue!.splice(index, 1);
    this.#ids.delete(entry.id);
    this.#pendingCount--;
    if (queue!.length === 0) this.#queues.delete(key);
  }

  /** The request body depends only on the entry, so a resend after a crash is byte-identical. */
  #deliver(entry: OutboxEntry): Promise<WecomResponse> {
    const { api } = this.options;
    const target = entry.target;
    if (entry.msgtype === 'update_template_card' && 'user' in target) {
      const { responseCode, replaceName, card } = JSON.parse(entry.content) as { responseCode: string; replaceName?: string; card?: Record<string, unknown> };
      const change = card ? { template_card: card } : { button: { replace_name: replaceName } };
      return api.call('/cgi-bin/message/update_template_card', { userids: [target.user], agentid: api.agentId, response_code: responseCode, ...change });
    }
    const payload =
      entry.msgtype === 'text' ? { text: { content: entry.content } }
      : entry.msgtype === 'template_card' ? { template_card: JSON.parse(entry.content) as unknown }
      : { markdown: { content: entry.content } };
    if ('robot' in target) return api.robot(target.robot, { msgtype: entry.msgtype, ...payload });
    if ('chat' in target) return api.call('/cgi-bin/appchat/send', { chatid: target.chat, msgtype: entry.msgtype, ...payload, safe: 0 });
    return api.call('/cgi-bin/message/send', {
      touser: target.user,
      msgtype: entry.msgtype,
      agentid: api.agentId,
      ...payload,
      safe: 0,
      enable_duplicate_check: 1,
      duplicate_check_interval: duplicateInterval(entry.recipientSeq),
    });
  }
}

/** The send times that count in a window ending now (a little wider than WeCom's). */
const sentWithin = (sent: number[], windowMs: number, now: number): number[] => sent.filter((at) => at > now - windowMs - WINDOW_MARGIN_MS);

/** Earliest first, for the heap of recipients by when their next message may go. */
const byTime = (a: { at: number }, b: { at: number }) => a.at - b.at;

/** What a recipient sends next: its first urgent message, else its first. */
const headOf = (queue: OutboxEntry[]): OutboxEntry => queue.find((entry) => entry.urgent) ?? queue[0]!;

function fromRow(row: OutboxRow): OutboxEntry {
  return {
    id: row.id,
    target: JSON.parse(row.target) as Recipient,
    msgtype: row.msgtype,
    content: row.content,
    urgent: row.urgent === 1,
    createdAt: row.created_at,
    attempts: row.attempts,
    notBefore: row.not_before,
    firstErrorAt: row.first_error_at ?? undefined,
    lastError: row.last_error ?? undefined,
    recipientSeq: row.recipient_seq,
  };
}
