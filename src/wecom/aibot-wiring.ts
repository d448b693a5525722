import type Router from '@koa/router';
import type { Logger } from 'pino';
import { translate } from '../chat/i18n.js';
import type { Reply } from '../chat/reply.js';
import type { ChatRouter } from '../chat/router.js';
import type { Config } from '../config/load.js';
import type { Metrics } from '../http/metrics.js';
import { mountAibot, LiveMessages, type LiveMessage } from './aibot.js';
import type { AibotMessage } from './aibot-messages.js';
import { CallbackCrypto } from './crypto.js';
import type { Database } from '../store/database.js';
import type { Inbox } from './inbox.js';
import { renderMarkdown } from './render.js';

interface AibotParts {
  config: Config & { wecom: { aibot: { token: string; aesKey: string } } };
  inbox: Inbox;
  db: Database;
  router: ChatRouter;
  logger: Logger;
  now: () => number;
  untilStored: (write: () => Promise<void> | void, key: string) => Promise<void>;
  mount: ((router: Router) => void)[];
  metrics: Metrics;
  /** Keeps running work in view, so a stop waits for it. */
  track: (work: Promise<void>) => void;
}

/**
 * The 智能机器人 path: its callback, and how its messages run. A command runs as the user who typed it (their roles
 * decide, not the group); its progress and result fill one live message in the conversation it came from.
 */
export function wireAibot(parts: AibotParts): { handle(message: AibotMessage): Promise<void>; interrupted(message: AibotMessage, notice: Reply): Promise<void>; live: LiveMessages } {
  const { config, inbox, router, logger, now, untilStored } = parts;
  const live = new LiveMessages(parts.db, now);
  // The receive id of an internal AI bot is the empty string (wecom-aibot.md §1.3.2).
  const crypto = new CallbackCrypto(config.wecom.aibot.token, config.wecom.aibot.aesKey, '');
  const render = (reply: Reply) => renderMarkdown(reply, config.locale);
  const apiOrigin = new URL(config.wecom.apiBase).origin;

  parts.mount.push((httpRouter) =>
    mountAibot(httpRouter, {
      crypto,
      inbox,
      live,
      maxSkewSeconds: config.wecom.callbackMaxSkewSeconds,
      now,
      logger,
      working: () => translate(config.locale, 'aibot.working'),
      notACommand: () => translate(config.locale, 'hint.empty'),
      onMessage: (message) => parts.track(handle(message)),
      observe: (result, seconds) => {
        parts.metrics.aibotCallbacks.inc({ result });
        parts.metrics.aibotCallbackSeconds.observe(seconds);
      },
    }),
  );

  /**
   * An answer by the message's response_url (once, within an hour): for a card click, and for a result that came
   * after WeCom stopped polling the live message. Only WeCom's own origin is ever called.
   */
  async function respond(url: string | undefined, content: string): Promise<void> {
    if (!url || !content.trim()) return;
    if (new URL(url).origin !== apiOrigin) {
      logger.warn({ origin: new URL(url).origin }, 'response_url is not on the WeCom API origin; not called');
      return;
    }
    for (let attempt = 1; ; attempt++) {
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ msgtype: 'markdown', markdown: { content: content.slice(0, 20_000) } }),
          signal: AbortSignal.timeout(10_000),
        });
        const answer = (await response.json().catch(() => ({}))) as { errcode?: number; errmsg?: string };
        if (response.ok && (answer.errcode ?? 0) === 0) return;
        // A response_url is single-use: a refusal is final.
        logger.warn({ status: response.status, errcode: answer.errcode, errmsg: answer.errmsg }, 'response_url refused the answer');
        return;
      } catch (error) {
        if (attempt >= 3) {
          logger.error({ err: error }, 'could not answer through response_url');
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 1000 * attempt));
      }
    }
  }

  async function handle(message: AibotMessage): Promise<void> {
    const key = `aibot:${message.msgId}`;
    try {
      if (message.text !== undefined) {
        await untilStored(() => inbox.started(key), key);
        // After a restart the live message is gone: a new one that nobody polls, so the result goes by response_url.
        const stream: LiveMessage = live.forMessage(message.msgId) ?? live.open(message.msgId, '', message.responseUrl);
        const shown: string[] = [];
        const show = (reply: Reply, finished: boolean) => {
          const text = render(reply);
          if (text.trim()) shown.push(text);
          live.set(stream, shown.join('\n\n'), finished);
        };
        const answer = await router.handle({
          userId: message.from,
          text: message.text,
          progress: async (reply) => show(reply, false),
        });
        show(answer, true);
        if (!live.polled(stream)) await respond(message.responseUrl, stream.content);
        await untilStored(() => inbox.done(key), key);
      } else if (message.eventType === 'template_card_event' && message.eventKey) {
        // A card's button (sent once, dropped after 5 s, so acked before this runs): its key is the command.
        await untilStored(() => inbox.started(key), key);
        const answer = await router.handle({ userId: message.from, text: message.eventKey });
        await respond(message.responseUrl, render(answer));
        await untilStored(() => inbox.done(key), key);
      } else {
        await untilStored(() => inbox.done(key), key);
      }
    } catch (error) {
      logger.error({ err: error, key }, 'AI bot message could not be handled');
    }
  }

  /**
   * A command a restart cut off mid-run is not run again (it may have changed something): its live message says so
   * and finishes, or, past the polling window, the notice goes by response_url.
   */
  async function interrupted(message: AibotMessage, notice: Reply): Promise<void> {
    const stream = live.forMessage(message.msgId) ?? live.open(message.msgId, '', message.responseUrl);
    live.set(stream, [stream.content, render(notice)].filter((text) => text.trim()).join('\n\n'), true);
    if (!live.polled(stream)) await respond(message.responseUrl, render(notice));
    inbox.markDone(`aibot:${message.msgId}`);
  }

  return { handle, interrupted, live };
}
