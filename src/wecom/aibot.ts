import { randomBytes } from 'node:crypto';
import type { SqlClient, Statement } from '../store/sql.js';
import type Router from '@koa/router';
import type { Context } from 'koa';
import type { Logger } from 'pino';
import { splitUtf8 } from './split.js';
import { guarded, opener, rawBody, Refusal, signedQuery } from './callback-guard.js';
import type { CallbackCrypto } from './crypto.js';
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
/** A response_url answers once within an hour (wecom-aibot.md §1.3.6); the margin covers a slow delivery. */
export const RESPONSE_URL_MS = 55 * 60_000;
/** A stream's content is at most 20480 bytes (wecom-aibot.md §1.3.5). */
export const STREAM_BYTES = 20_480;

/**
 * A message the AI bot answers: its live message (a stream WeCom polls while `finished` is false) and its
 * single-use response_url. A card click has no stream: it is opened finished and answered by its response_url.
 */
export interface LiveMessage {
  id: string;
  msgId: string;
  content: string;
  finished: boolean;
  createdAt: number;
  responseUrl?: string;
  responded: boolean;
}

/**
 * The live messages of commands asked through the AI bot, by stream id, kept in the database for as long as WeCom
 * may poll them or their response_url may answer: a restart keeps answering their refreshes, and a change approved
 * later still answers in the conversation it was asked in.
 */
export class LiveMessages {
  constructor(
    private readonly sql: SqlClient,
    private readonly now: () => number,
  ) {}

  /** The live message of a message, opened now with `content` unless it already is. */
  async open(msgId: string, content: string, responseUrl?: string, finished = false): Promise<LiveMessage> {
    await this.sql.batch([
      { sql: 'DELETE FROM aibot_streams WHERE created_at < ?', params: [this.now() - 65 * 60_000] },
      {
        sql: 'INSERT INTO aibot_streams (id, msg_id, content, finished, created_at, response_url) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (msg_id) DO NOTHING',
        params: [randomBytes(12).toString('hex'), msgId, fitStream(content), finished ? 1 : 0, this.now(), responseUrl ?? null],
      },
    ]);
    return (await this.forMessage(msgId))!;
  }

  async get(id: string): Promise<LiveMessage | undefined> {
    return row(await this.sql.get(`SELECT ${COLUMNS} FROM aibot_streams WHERE id = ?`, [id]));
  }

  async forMessage(msgId: string): Promise<LiveMessage | undefined> {
    return row(await this.sql.get(`SELECT ${COLUMNS} FROM aibot_streams WHERE msg_id = ?`, [msgId]));
  }

  /** What WeCom shows next; only the newest 20480 bytes fit, so the oldest progress gives way. */
  async set(live: LiveMessage, content: string, finished: boolean, alongside: readonly Statement[] = []): Promise<void> {
    live.content = fitStream(content);
    live.finished = finished;
    await this.sql.batch([{ sql: 'UPDATE aibot_streams SET content = ?, finished = ? WHERE id = ?', params: [live.content, finished ? 1 : 0, live.id] }, ...alongside]);
  }

  /** The response_url was used; `alongside` is committed with the mark. */
  async markResponded(live: LiveMessage, alongside: readonly Statement[] = []): Promise<void> {
    live.responded = true;
    await this.sql.batch([{ sql: 'UPDATE aibot_streams SET responded = 1 WHERE id = ?', params: [live.id] }, ...alongside]);
  }

  /** Commits writes on their own (the done mark of a message nobody can be answered about any more). */
  async commit(statements: readonly Statement[] = []): Promise<void> {
    if (statements.length > 0) await this.sql.batch(statements);
  }

  /** Whether WeCom still polls this stream. */
  polled(live: LiveMessage): boolean {
    return !live.finished && this.now() - live.createdAt < STREAM_WINDOW_MS;
  }

  /** Whether its response_url may still answer. */
  answerable(live: LiveMessage): boolean {
    return live.responseUrl !== undefined && !live.responded && this.now() - live.createdAt < RESPONSE_URL_MS;
  }
}

const COLUMNS = 'id, msg_id AS "msgId", content, finished, created_at AS "createdAt", response_url AS "responseUrl", responded';

const row = (found: unknown): LiveMessage | undefined => {
  if (!found) return undefined;
  const record = found as Omit<LiveMessage, 'finished' | 'responseUrl' | 'responded'> & { finished: number; responseUrl: string | null; responded: number };
  return { ...record, finished: record.finished === 1, responseUrl: record.responseUrl ?? undefined, responded: record.responded === 1 };
};

/** The newest part of a live message's content that fits WeCom's 20480 bytes. */
export function fitStream(content: string): string {
  if (Buffer.byteLength(content) <= STREAM_BYTES) return content;
  const parts = splitUtf8(content, STREAM_BYTES - 8);
  return `…\n${parts[parts.length - 1]!}`;
}

export interface AibotOptions {
  crypto: CallbackCrypto;
  inbox: { accept(message: InboundMessage): Promise<'new' | 'duplicate'> };
  live: LiveMessages;
  maxSkewSeconds: number;
  now: () => number;
  logger: Logger;
  /** The first content of a command's live message, before it has run. */
  working: () => string;
  /** The answer to a message that is not a command (an image, a file): where to find the commands. */
  notACommand: () => string;
  /** Runs a new message after the ack (with its live message, for commands). */
  onMessage: (message: InboundMessage) => void;
  observe?: (result: CallbackResult, seconds: number) => void;
}

export function mountAibot(router: Router, options: AibotOptions): void {
  const open = opener(options.crypto, options.maxSkewSeconds, options.now);
  const handle = (ctx: Context, run: () => Promise<CallbackResult>) => guarded(ctx, options.logger, options.observe, run);

  /** The passive reply envelope: encrypted JSON, signed with the callback's own nonce (wecom-aibot.md §1.3.2). */
  const reply = (ctx: Context, nonce: string, body: Record<string, unknown>) => {
    const encrypt = options.crypto.encrypt(JSON.stringify(body));
    const timestamp = String(Math.floor(options.now() / 1000));
    ctx.status = 200;
    ctx.type = 'application/json';
    ctx.body = { encrypt, msgsignature: options.crypto.signature(timestamp, nonce, encrypt), timestamp: Number(timestamp), nonce };
  };
  // Until the command shows something, its live message says it is working on it.
  const stream = (live: LiveMessage) => ({ msgtype: 'stream', stream: { id: live.id, finish: live.finished, content: live.content || (live.finished ? '' : options.working()) } });

  router.get('/wecom/aibot', (ctx) =>
    handle(ctx, async () => {
      const { signature, timestamp, nonce, echostr } = signedQuery(ctx, true);
      ctx.status = 200;
      ctx.type = 'text/plain';
      ctx.body = open(signature, timestamp, nonce, echostr);
      options.logger.info('AI bot URL verification answered');
      return 'verified';
    }),
  );

  router.post('/wecom/aibot', (ctx) =>
    handle(ctx, async () => {
      const { signature, timestamp, nonce } = signedQuery(ctx, false);
      const body = await rawBody(ctx, 64 * 1024);
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
        const live = await options.live.get(message.streamId);
        reply(ctx, nonce, live ? stream(live) : { msgtype: 'stream', stream: { id: message.streamId, finish: true, content: '' } });
        return 'accepted';
      }

      const inbound = inboundOf(message, options.now());
      let seen: 'new' | 'duplicate';
      try {
        seen = await options.inbox.accept(inbound);
      } catch (error) {
        options.logger.error({ err: error }, 'could not record the AI bot callback; answering 503');
        throw new Refusal(503, 'store-failed', 'store unavailable');
      }
      const command = message.text !== undefined;
      if (seen === 'duplicate') {
        // WeCom sent it again (its first answer got lost): the same live message, never a second run.
        const live = await options.live.forMessage(message.msgId);
        if (live) reply(ctx, nonce, stream(live));
        else ctx.status = 200;
        return 'duplicate';
      }
      if (command) {
        const live = await options.live.open(message.msgId, '', message.responseUrl);
        reply(ctx, nonce, stream(live));
      } else if (message.msgType !== 'event') {
        // An image or a file (single chat only): not a command; the answer says where the commands are.
        reply(ctx, nonce, { msgtype: 'stream', stream: { id: randomBytes(12).toString('hex'), finish: true, content: options.notACommand() } });
      } else {
        // Events (card clicks are sent once and dropped after 5 s): an empty answer at once, the work after it,
        // answered through the click's response_url.
        if (message.eventKey) await options.live.open(message.msgId, '', message.responseUrl, true);
        ctx.status = 200;
        ctx.body = '';
      }
      setImmediate(() => options.onMessage(inbound));
      return 'accepted';
    }),
  );
}

/** The inbox's record of an AI bot message: deduplicated by msgid, recovered after a restart like the app's. */
export function inboundOf(message: AibotMessage, now: number): InboundMessage {
  return {
    from: message.from,
    createTime: Math.floor(now / 1000),
    msgType: message.msgType,
    content: message.text,
    event: message.eventType,
    eventKey: message.eventKey,
    dedupKey: `aibot:${message.msgId}`,
    aibot: message,
  };
}
