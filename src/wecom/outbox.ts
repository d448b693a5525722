import type { Logger } from 'pino';
import { recipientKey, type Recipient } from '../config/schema.js';
import type { Collection } from '../store/store.js';
import { WecomApiError, type WecomApi, type WecomResponse } from './api.js';
import { paginate } from './split.js';
import type { WecomState } from './state.js';

/**
 * The durable queue of everything wekube sends to WeCom. Its stages, in order:
 *  1. persist: `enqueue` returns once the message, split within the byte limit, is on disk;
 *  2. throttle: per recipient, sliding windows a little wider than WeCom's (it drops the excess silently);
 *  3. send: one message at a time per recipient, in order, urgent replies before digests;
 *  4. retry: transport errors and -1 with backoff; 45009 after the window; credentials and IP errors pause all;
 *  5. give up: permanent errors (unknown user, removed robot, ...) are logged with the reason and kept in `failed`.
 * A message is removed only after WeCom accepted it. After a crash between the two it is sent again with the same
 * request body, and `enable_duplicate_check` makes WeCom show it once (robots have no such check).
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
  lastError?: string;
}

interface FailedEntry {
  entry: OutboxEntry;
  reason: string;
  at: number;
}

export interface OutboxData {
  seq: number;
  queue: OutboxEntry[];
  /** Send times per recipient within the longest window, so a restart does not forget recent sends. */
  sent: Record<string, number[]>;
  failed: FailedEntry[];
  /** Keys of messages already taken (24 h): a producer that repeats itself after a crash is not sent twice. */
  keys?: Record<string, number>;
}

export interface EnqueueOptions {
  /** Goes before digests in the recipient's queue (a reply the user is waiting for). */
  urgent?: boolean;
  /** A change to the shared state committed in the same write (the inbox marking the message done). */
  alongside?: () => void;
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
const MAX_ATTEMPTS = 8;
const MAX_FAILED_KEPT = 200;

const TRANSIENT = new Set([-1, 6000, 45033]);
/** The app cannot send at all until an admin fixes something: pause everything, lose nothing. */
const PAUSING = new Set([40001, 40013, 40056, 40091, 41004, 48002, 50003, 60020, 301002]);

const targetKey = recipientKey;
const targetKind = (target: Recipient): keyof typeof RATE_LIMITS => ('user' in target ? 'user' : 'chat' in target ? 'chat' : 'robot');

export interface OutboxOptions {
  api: WecomApi;
  logger: Logger;
  now?: () => number;
  limits?: Record<'user' | 'chat' | 'robot', Window[]>;
  concurrency?: number;
  /** Backoff base for transport errors and -1. */
  retryBaseMs?: number;
  /** Wait after 45009 (a minute window) and after pausing errors. */
  rateWaitMs?: number;
  pauseMs?: number;
  onSent?: (kind: string) => void;
  onFailed?: (reason: string) => void;
}

export class Outbox {
  readonly #now: () => number;
  readonly #limits: Record<'user' | 'chat' | 'robot', Window[]>;
  readonly #inflight = new Map<string, Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  #pausedUntil = 0;
  #stopping = false;

  constructor(
    private readonly collection: Collection<WecomState>,
    private readonly options: OutboxOptions,
  ) {
    this.#now = options.now ?? Date.now;
    this.#limits = options.limits ?? RATE_LIMITS;
    if (this.#data.queue.length > 0) {
      options.logger.info({ pending: this.#data.queue.length }, 'outbox resumes messages queued before the restart');
    }
  }

  get #data(): OutboxData {
    return this.collection.data.outbox;
  }

  get pending(): number {
    return this.#data.queue.length;
  }

  get failed(): readonly FailedEntry[] {
    return this.#data.failed;
  }

  /** Splits the content within the recipient's byte limit and persists every part; resolves once on disk. */
  async enqueue(target: Recipient, content: string, msgtype: MessageType, options: EnqueueOptions = {}): Promise<void> {
    const { urgent = false, alongside, key } = options;
    const data = this.#data;
    const now = this.#now();
    if (key) {
      data.keys ??= {};
      if (data.keys[key] !== undefined) return;
      data.keys[key] = now;
      for (const [old, at] of Object.entries(data.keys)) if (at < now - KEY_RETENTION_MS) delete data.keys[old];
    }
    const parts = msgtype === 'text' || msgtype === 'markdown' ? paginate(content, byteLimit(target, msgtype)) : [content];
    for (const part of parts) {
      data.queue.push({ id: ++data.seq, target, msgtype, content: part, urgent, createdAt: now, attempts: 0, notBefore: 0 });
    }
    alongside?.();
    await this.collection.save();
    this.#pump();
  }

  start(): void {
    this.#stopping = false;
    this.#pump();
  }

  /** Stops sending, waits for the sends in flight, and leaves the rest on disk for the next start. */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#timer);
    await Promise.allSettled(this.#inflight.values());
    await this.collection.flush();
  }

  /** Starts every send that is due; otherwise sleeps until the earliest one is. */
  #pump(): void {
    if (this.#stopping) return;
    clearTimeout(this.#timer);
    const now = this.#now();
    let wake = Infinity;
    for (const [key, entry] of this.#heads()) {
      if (this.#inflight.size >= (this.options.concurrency ?? 8)) break;
      const readyAt = Math.max(entry.notBefore, this.#pausedUntil, this.#allowedAt(key, entry.target, now));
      if (readyAt > now) {
        wake = Math.min(wake, readyAt);
        continue;
      }
      const sending = this.#send(key, entry).finally(() => {
        this.#inflight.delete(key);
        this.#pump();
      });
      this.#inflight.set(key, sending);
    }
    if (wake < Infinity) this.#timer = setTimeout(() => this.#pump(), Math.max(wake - now, 10));
  }

  /** The next message of each recipient that is not already sending: urgent first, then in order. */
  #heads(): Map<string, OutboxEntry> {
    const heads = new Map<string, OutboxEntry>();
    for (const entry of this.#data.queue) {
      const key = targetKey(entry.target);
      if (this.#inflight.has(key)) continue;
      const head = heads.get(key);
      if (!head || (entry.urgent && !head.urgent)) heads.set(key, entry);
    }
    return heads;
  }

  /** When the recipient's windows allow one more message. */
  #allowedAt(key: string, target: Recipient, now: number): number {
    const windows = this.#limits[targetKind(target)];
    const longest = Math.max(...windows.map((w) => w.windowMs)) + WINDOW_MARGIN_MS;
    const sent = (this.#data.sent[key] ?? []).filter((at) => at > now - longest);
    if (sent.length === 0) delete this.#data.sent[key];
    else this.#data.sent[key] = sent;
    let allowedAt = now;
    for (const { windowMs, max } of windows) {
      const inWindow = sent.filter((at) => at > now - windowMs - WINDOW_MARGIN_MS);
      if (inWindow.length >= max) allowedAt = Math.max(allowedAt, inWindow[inWindow.length - max]! + windowMs + WINDOW_MARGIN_MS + 1);
    }
    return allowedAt;
  }

  async #send(key: string, entry: OutboxEntry): Promise<void> {
    const { logger } = this.options;
    const started = this.#now();
    // Counted before sending: a request that timed out may still have been delivered and counted by WeCom.
    (this.#data.sent[key] ??= []).push(started);
    entry.attempts++;
    let outcome: { ok: true } | { ok: false; retryAt?: number; reason: string; pause?: boolean };
    try {
      outcome = this.#judge(entry, await this.#deliver(entry));
    } catch (error) {
      const pause = error instanceof WecomApiError && error.errcode !== undefined && PAUSING.has(error.errcode);
      outcome = pause
        ? { ok: false, pause: true, reason: (error as Error).message }
        : { ok: false, retryAt: this.#backoff(entry), reason: (error as Error).message };
    }

    if (outcome.ok) {
      this.#remove(entry);
      this.options.onSent?.(targetKind(entry.target));
    } else if (outcome.pause) {
      entry.attempts--;
      this.#pausedUntil = this.#now() + (this.options.pauseMs ?? 10 * 60_000);
      entry.lastError = outcome.reason;
      logger.error({ reason: outcome.reason, pausedSeconds: (this.#pausedUntil - this.#now()) / 1000 }, 'WeCom refuses the app; sending paused, messages kept');
    } else if (outcome.retryAt !== undefined && entry.attempts < MAX_ATTEMPTS) {
      entry.notBefore = outcome.retryAt;
      entry.lastError = outcome.reason;
      logger.warn({ id: entry.id, to: key, attempt: entry.attempts, reason: outcome.reason }, 'send failed; will retry');
    } else {
      this.#remove(entry);
      const failed = this.#data.failed;
      failed.push({ entry, reason: outcome.reason, at: this.#now() });
      if (failed.length > MAX_FAILED_KEPT) failed.splice(0, failed.length - MAX_FAILED_KEPT);
      this.options.onFailed?.(outcome.reason);
      logger.error({ id: entry.id, to: key, attempts: entry.attempts, reason: outcome.reason }, 'message given up');
    }
    await this.collection.save().catch((error: Error) => logger.error({ err: error }, 'outbox could not be saved'));
  }

  #judge(entry: OutboxEntry, response: WecomResponse): { ok: true } | { ok: false; retryAt?: number; reason: string; pause?: boolean } {
    const { errcode, errmsg } = response;
    if (errcode === 0) {
      const invalid = String(response.invaliduser ?? '').toLowerCase().split('|');
      if ('user' in entry.target && invalid.includes(entry.target.user)) {
        return { ok: false, reason: `WeCom does not know user ${entry.target.user} (invaliduser)` };
      }
      return { ok: true };
    }
    const reason = `errcode ${errcode}: ${errmsg}`;
    if (TRANSIENT.has(errcode)) return { ok: false, retryAt: this.#backoff(entry), reason };
    if (errcode === 45009) return { ok: false, retryAt: this.#now() + (this.options.rateWaitMs ?? 61_000), reason };
    if (PAUSING.has(errcode)) return { ok: false, pause: true, reason };
    return { ok: false, reason };
  }

  #backoff(entry: OutboxEntry): number {
    const base = this.options.retryBaseMs ?? 1_000;
    return this.#now() + Math.min(base * 2 ** (entry.attempts - 1), 5 * 60_000);
  }

  #remove(entry: OutboxEntry): void {
    const queue = this.#data.queue;
    const index = queue.indexOf(entry);
    if (index >= 0) queue.splice(index, 1);
  }

  /** The request body depends only on the entry, so a resend after a crash is byte-identical. */
  #deliver(entry: OutboxEntry): Promise<WecomResponse> {
    const { api } = this.options;
    const target = entry.target;
    if (entry.msgtype === 'update_template_card' && 'user' in target) {
      const { responseCode, replaceName } = JSON.parse(entry.content) as { responseCode: string; replaceName: string };
      return api.call('/cgi-bin/message/update_template_card', { userids: [target.user], agentid: api.agentId, response_code: responseCode, button: { replace_name: replaceName } });
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
      // WeCom drops a request identical to one sent within the interval. Two different messages may carry the same
      // text (`help` twice): varying the interval with the id keeps their requests distinct, a resend identical.
      duplicate_check_interval: 1800 - (entry.id % 1000),
    });
  }
}
