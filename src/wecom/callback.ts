import type Router from '@koa/router';
import type { Context } from 'koa';
import type { Logger } from 'pino';
import getRawBody from 'raw-body';
import { CallbackCryptoError, type CallbackCrypto } from './crypto.js';
import type { Inbox } from './inbox.js';
import { parseEnvelope, parseMessage, XmlError, type InboundMessage } from './messages.js';

/** How a callback ended, for logs and metrics. Only `accepted` and `duplicate` are answered 200. */
export type CallbackResult =
  | 'verified'
  | 'accepted'
  | 'duplicate'
  | 'malformed'
  | 'forged'
  | 'stale'
  | 'wrong-app'
  | 'too-large'
  | 'store-failed';

export interface CallbackOptions {
  crypto: CallbackCrypto;
  agentId: number;
  inbox: Inbox;
  /** Refuse timestamps further than this from now; 0 turns the check off. */
  maxSkewSeconds: number;
  bodyLimitBytes?: number;
  now?: () => number;
  logger: Logger;
  /** Runs the message after the ack; never awaited by the callback. */
  onMessage: (message: InboundMessage) => void;
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

/** GET and POST /wecom/callback (SPEC §3): URL verification, then messages and events. */
export function mountCallback(router: Router, options: CallbackOptions): void {
  const now = options.now ?? Date.now;
  const limit = options.bodyLimitBytes ?? 64 * 1024;

  const query = (ctx: Context, withEchostr: boolean) => {
    const read = (name: string) => {
      const value = ctx.query[name];
      return typeof value === 'string' ? value : undefined;
    };
    const signature = read('msg_signature');
    const timestamp = read('timestamp');
    const nonce = read('nonce');
    const echostr = read('echostr');
    if (!signature || !SIGNATURE.test(signature)) throw new Refusal(400, 'malformed', 'msg_signature missing or not 40 hex digits');
    if (!timestamp || !/^\d{1,12}$/.test(timestamp)) throw new Refusal(400, 'malformed', 'timestamp missing or not a number');
    if (!nonce || nonce.length > 64) throw new Refusal(400, 'malformed', 'nonce missing or too long');
    if (withEchostr && !echostr) throw new Refusal(400, 'malformed', 'echostr missing');
    return { signature, timestamp, nonce, echostr: echostr ?? '' };
  };

  const checkSkew = (timestamp: string) => {
    if (options.maxSkewSeconds === 0) return;
    const skew = Math.abs(now() / 1000 - Number(timestamp));
    if (skew > options.maxSkewSeconds) throw new Refusal(403, 'stale', `timestamp is ${Math.round(skew)}s from now`);
  };

  const open = (signature: string, timestamp: string, nonce: string, encrypted: string) => {
    try {
      const plain = options.crypto.open(signature, timestamp, nonce, encrypted);
      checkSkew(timestamp); // after the signature, so "stale" is only ever said of an authentic request
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

  const handle = async (ctx: Context, run: () => Promise<CallbackResult>) => {
    const started = process.hrtime.bigint();
    let result: CallbackResult;
    try {
      result = await run();
    } catch (error) {
      if (!(error instanceof Refusal)) throw error;
      result = error.result;
      options.logger.warn({ result, detail: error.detail, ip: ctx.ip }, 'callback refused');
      ctx.status = error.status;
      ctx.type = 'text/plain';
      ctx.body = error.result;
    }
    options.observe?.(result, Number(process.hrtime.bigint() - started) / 1e9);
  };

  router.get('/wecom/callback', (ctx) =>
    handle(ctx, async () => {
      const { signature, timestamp, nonce, echostr } = query(ctx, true);
      const plain = open(signature, timestamp, nonce, echostr);
      ctx.status = 200;
      ctx.type = 'text/plain';
      ctx.body = plain; // the bare plaintext: no quotes, no BOM, no newline
      options.logger.info('WeCom URL verification answered');
      return 'verified';
    }),
  );

  router.post('/wecom/callback', (ctx) =>
    handle(ctx, async () => {
      const { signature, timestamp, nonce } = query(ctx, false);
      let body: string;
      try {
        body = await getRawBody(ctx.req, { limit, encoding: 'utf8' });
      } catch (error) {
        const tooLarge = (error as { type?: string }).type === 'entity.too.large';
        // The rest of the body is still on the socket: close it rather than read an attacker's megabytes.
        ctx.set('Connection', 'close');
        throw new Refusal(tooLarge ? 413 : 400, tooLarge ? 'too-large' : 'malformed', (error as Error).message);
      }

      let message: InboundMessage;
      try {
        const envelope = parseEnvelope(body);
        const plain = open(signature, timestamp, nonce, envelope.encrypt);
        message = parseMessage(plain);
        const agent = message.agentId ?? envelope.agentId;
        if (agent !== undefined && agent !== String(options.agentId)) {
          throw new Refusal(403, 'wrong-app', `AgentID ${agent} is not this app (${options.agentId})`);
        }
      } catch (error) {
        if (error instanceof XmlError) throw new Refusal(400, 'malformed', error.message);
        throw error;
      }

      let seen: 'new' | 'duplicate';
      try {
        seen = await options.inbox.accept(message);
      } catch (error) {
        options.logger.error({ err: error }, 'could not record the callback; answering 503 so WeCom retries');
        throw new Refusal(503, 'store-failed', 'store unavailable');
      }
      ctx.status = 200;
      ctx.body = '';
      if (seen === 'duplicate') {
        options.logger.debug({ key: message.dedupKey }, 'callback already received; not run again');
        return 'duplicate';
      }
      setImmediate(() => options.onMessage(message));
      return 'accepted';
    }),
  );
}
