import { randomBytes } from 'node:crypto';
import type Router from '@koa/router';
import type { Context } from 'koa';
import type { Logger } from 'pino';
import getRawBody from 'raw-body';
import { splitUtf8 } from './split.js';
import { CallbackCryptoError, type CallbackCrypto } from './crypto.js';
import { AibotMessageError, parseAibotMessage, type AibotMessage } from './aibot-messages.js';
import type { CallbackResult } from './callback.js';
import type { InboundMessage } from './messages.js';

// The 智能机器人 (AI bot) callback, GET and POST /wecom/aibot (SPEC §3, wecom-aibot.md §1.3): the same strict
// crypto as the app's callback with the receive id "" and a JSON envelope. A command's answer is a live message
// (a `stream` reply): the callback answers at once with the stream's first content, WeCom then polls the stream
// (msgtype `stream`) for up to six minutes and each answer replaces what the group sees. A result that comes
// later than that goes out once through the message's `response_url`.

/** WeCom polls a stream for at most 6 minutes from the user's message; past this the result goes by response_url. */
export const STREAM_WINDOW_MS = 5.5 * 60_000;
/** A stream's content is at most 20480 bytes (wecom-aibot.md §1.3.5). */
export const STREAM_BYTES = 20_480;

export interface LiveMessage {
  id: string;
  msgId: string;
  content: string;
  finished: boolean;
  createdAt: number;
  responseUrl?: string;
  /** How many different contents WeCom was shown (each refresh that found something new). */
  updates: number;
  lastShown?: string;
}

/** The live messages of commands asked through the AI bot, by stream id, kept as long as WeCom may poll them. */
export class LiveMessages {
  readonly #byId = new Map<string, LiveMessage>();
  readonly #byMsg = new Map<string, string>();

  constructor(private readonly now: () => number) {}

  open(msgId: string, content: string, responseUrl?: string): LiveMessage {
    this.#prune();
    const existing = this.#byMsg.get(msgId);
    if (existing && this.#byId.has(existing)) return this.#byId.get(existing)!;
    const live: LiveMessage = { id: randomBytes(12).toString('hex'), msgId, content, finished: false, createdAt: this.now(), responseUrl, updates: 0 };
    this.#byId.set(live.id, live);
    this.#byMsg.set(msgId, live.id);
    return live;
  }

  get(id: string): LiveMessage | undefined {
    return this.#byId.get(id);
  }

  forMessage(msgId: string): LiveMessage | undefined {
    const id = this.#byMsg.get(msgId);
    return id ? this.#byId.get(id) : undefined;
  }

  /** The content WeCom shows next; only the newest 20480 bytes fit, so the oldest progress gives way. */
  set(live: LiveMessage, content: string, finished: boolean): void {
    live.content = fitStream(content);
    live.finished = finished;
  }

  /** Whether WeCom still polls this stream. */
  polled(live: LiveMessage): boolean {
    return this.now() - live.createdAt < STREAM_WINDOW_MS;
  }

  #prune(): void {
    const horizon = this.now() - 7 * 60_000;
    for (const [id, live] of this.#byId) {
      if (live.createdAt >= horizon) break;
      this.#byId.delete(id);
      this.#byMsg.delete(live.msgId);
    }
  }
}

function fitStream(content: string): string {
  if (Buffer.byteLength(content) <= STREAM_BYTES) return content;
  const parts = splitUtf8(content, STREAM_BYTES - 8);
  return `…\n${parts[parts.length - 1]!}`;
}

export interface AibotOptions {
  crypto: CallbackCrypto;
  token: string;
  inbox: { accept(message: InboundMessage): Promise<'new' | 'duplicate'> };
  live: LiveMessages;
  maxSkewSeconds: number;
  now: () => number;
  logger: Logger;
  /** The first content of a command's live message, before it has run. */
  working: () => string;
  /** Runs a new message after the ack (with its live message, for commands). */
  onMessage: (message: AibotMessage) => void;
  observe?: (result: CallbackResult, seconds: number) => void;
}

class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly result: CallbackResult,
    readonly detail: string,
  ) {
    super(detail);
  }
}

const SIGNATURE = /^[0-9a-fA-F]{40}$/;

export function mountAibot(router: Router, options: AibotOptions): void {
  const read = (ctx: Context, withEchostr: boolean) => {
    const value = (name: string) => (typeof ctx.query[name] === 'string' ? (ctx.query[name] as string) : undefined);
    const signature = value('msg_signature');
    const timestamp = value('timestamp');
    const nonce = value('nonce');
    const echostr = value('echostr');
    if (!signature || !SIGNATURE.test(signature)) throw new Refusal(400, 'malformed', 'msg_signature missing or not 40 hex digits');
    if (!timestamp || !/^\d{1,12}$/.test(timestamp)) throw new Refusal(400, 'malformed', 'timestamp missing or not a number');
    if (!nonce || nonce.length > 64) throw new Refusal(400, 'malformed', 'nonce missing or too long');
    if (withEchostr && !echostr) throw new Refusal(400, 'malformed', 'echostr missing');
    return { signature, timestamp, nonce, echostr: echostr ?? '' };
  };

  const open = (signature: string, timestamp: string, nonce: string, encrypted: string): string => {
    try {
      const plain = options.crypto.open(signature, timestamp, nonce, encrypted);
      const skew = Math.abs(options.now() / 1000 - Number(timestamp));
      if (options.maxSkewSeconds > 0 && skew > options.maxSkewSeconds) throw new Refusal(403, 'stale', `timestamp is ${Math.round(skew)}s from now`);
      return plain;
    } catch (error) {
      if (error instanceof CallbackCryptoError) {
        throw error.reason === 'signature' || error.reason === 'receiver'
          ? new Refusal(403, 'forged', `crypto check failed: ${error.reason}`)
          : new Refusal(400, 'malformed', `crypto check failed: ${error.reason}`);
      }
      throw error;
    }
  };

  /** The passive reply envelope: encrypted JSON, signed with the callback's own nonce (wecom-aibot.md §1.3.2). */
  const reply = (ctx: Context, nonce: string, body: Record<string, unknown>) => {
    const encrypt = options.crypto.encrypt(JSON.stringify(body));
    const timestamp = String(Math.floor(options.now() / 1000));
    ctx.status = 200;
    ctx.type = 'application/json';
    ctx.body = { encrypt, msgsignature: options.crypto.signature(timestamp, nonce, encrypt), timestamp: Number(timestamp), nonce };
  };
  const stream = (live: LiveMessage) => {
    if (live.content !== live.lastShown) {
      live.updates++;
      live.lastShown = live.content;
    }
    return { msgtype: 'stream', stream: { id: live.id, finish: live.finished, content: live.content } };
  };

  const handle = async (ctx: Context, run: () => Promise<CallbackResult>) => {
    const started = process.hrtime.bigint();
    let result: CallbackResult;
    try {
      result = await run();
    } catch (error) {
      if (!(error instanceof Refusal)) throw error;
      result = error.result;
      options.logger.warn({ result, detail: error.detail, ip: ctx.ip }, 'AI bot callback refused');
      ctx.status = error.status;
      ctx.type = 'text/plain';
      ctx.body = error.result;
    }
    options.observe?.(result, Number(process.hrtime.bigint() - started) / 1e9);
  };

  router.get('/wecom/aibot', (ctx) =>
    handle(ctx, async () => {
      const { signature, timestamp, nonce, echostr } = read(ctx, true);
      ctx.status = 200;
      ctx.type = 'text/plain';
      ctx.body = open(signature, timestamp, nonce, echostr);
      options.logger.info('AI bot URL verification answered');
      return 'verified';
    }),
  );

  router.post('/wecom/aibot', (ctx) =>
    handle(ctx, async () => {
      const { signature, timestamp, nonce } = read(ctx, false);
      let body: string;
      try {
        body = await getRawBody(ctx.req, { limit: 64 * 1024, encoding: 'utf8' });
      } catch (error) {
        const tooLarge = (error as { type?: string }).type === 'entity.too.large';
        ctx.set('Connection', 'close');
        throw new Refusal(tooLarge ? 413 : 400, tooLarge ? 'too-large' : 'malformed', (error as Error).message);
      }
      let encrypted: unknown;
      try {
        encrypted = (JSON.parse(body) as { encrypt?: unknown }).encrypt;
      } catch {
        throw new Refusal(400, 'malformed', 'the body is not JSON');
      }
      if (typeof encrypted !== 'string' || !encrypted) throw new Refusal(400, 'malformed', 'encrypt is missing');
      let message: AibotMessage;
      try {
        message = parseAibotMessage(open(signature, timestamp, nonce, encrypted));
      } catch (error) {
        if (error instanceof AibotMessageError) throw new Refusal(400, 'malformed', error.message);
        throw error;
      }

      // A refresh of a live message: what it shows now. An unknown stream (from before a restart) is closed.
      if (message.msgType === 'stream' && message.streamId) {
        const live = options.live.get(message.streamId);
        reply(ctx, nonce, live ? stream(live) : { msgtype: 'stream', stream: { id: message.streamId, finish: true, content: '' } });
        return 'accepted';
      }

      let seen: 'new' | 'duplicate';
      try {
        seen = await options.inbox.accept(inboundOf(message, options.now()));
      } catch (error) {
        options.logger.error({ err: error }, 'could not record the AI bot callback; answering 503');
        throw new Refusal(503, 'store-failed', 'store unavailable');
      }
      const command = message.msgType === 'text' || message.msgType === 'voice' || message.msgType === 'mixed';
      if (seen === 'duplicate') {
        // WeCom sent it again (its first answer got lost): the same live message, never a second run.
        const live = options.live.forMessage(message.msgId);
        if (live) reply(ctx, nonce, stream(live));
        else ctx.status = 200;
        return 'duplicate';
      }
      if (command) {
        const live = options.live.open(message.msgId, options.working(), message.responseUrl);
        reply(ctx, nonce, stream(live));
      } else {
        // Events (card clicks are sent once and dropped after 5 s): an empty answer at once, the work after it.
        ctx.status = 200;
        ctx.body = '';
      }
      setImmediate(() => options.onMessage(message));
      return 'accepted';
    }),
  );
}

/** The inbox's record of an AI bot message: deduplicated by msgid, recovered after a restart like the app's. */
export function inboundOf(message: AibotMessage, now: number): InboundMessage {
  return { from: message.from, createTime: Math.floor(now / 1000), msgType: message.msgType, content: message.text, eventKey: message.eventKey, dedupKey: `aibot:${message.msgId}`, aibot: message };
}
