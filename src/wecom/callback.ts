import type Router from '@koa/router';
import type { Context } from 'koa';
import type { Logger } from 'pino';
import { guarded, opener, rawBody, Refusal, signedQuery } from './callback-guard.js';
import type { CallbackCrypto } from './crypto.js';
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

/** GET and POST /wecom/callback (SPEC §3): URL verification, then messages and events. */
export function mountCallback(router: Router, options: CallbackOptions): void {
  const now = options.now ?? Date.now;
  const limit = options.bodyLimitBytes ?? 64 * 1024;

  const open = opener(options.crypto, options.maxSkewSeconds, now);
  const handle = (ctx: Context, run: () => Promise<CallbackResult>) => guarded(ctx, options.logger, options.observe, run);

  router.get('/wecom/callback', (ctx) =>
    handle(ctx, async () => {
      const { signature, timestamp, nonce, echostr } = signedQuery(ctx, true);
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
      const { signature, timestamp, nonce } = signedQuery(ctx, false);
      const body = await rawBody(ctx, limit);

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
