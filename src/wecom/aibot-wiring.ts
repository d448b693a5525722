import type Router from '@koa/router';
import type { Logger } from 'pino';
import { translate } from '../chat/i18n.js';
import type { Clock } from '../clock/clock.js';
import type { Config } from '../config/load.js';
import type { Metrics } from '../http/metrics.js';
import type { SqlClient } from '../store/sql.js';
import { mountAibot, LiveMessages } from './aibot.js';
import { AibotChannel } from './aibot-channel.js';
import { CallbackCrypto } from './crypto.js';
import type { Inbox } from './inbox.js';
import type { InboundMessage } from './messages.js';

interface AibotParts {
  config: Config & { wecom: { aibot: { token: string; aesKey: string } } };
  inbox: Inbox;
  sql: SqlClient;
  logger: Logger;
  clock: Clock;
  mount: ((router: Router) => void)[];
  metrics: Metrics;
  /** Runs a new message after its ack, as the app's messages run. */
  onMessage: (message: InboundMessage) => void;
}

/**
 * The 智能机器人 path: its callback, and its adapter of the channel port. A command runs as the user who typed it
 * (their roles decide, not the group); its progress and result fill one live message in the conversation it came from.
 */
export function wireAibot(parts: AibotParts): AibotChannel {
  const { config, logger, clock } = parts;
  const now = () => clock.now();
  const live = new LiveMessages(parts.sql, now);
  // The receive id of an internal AI bot is the empty string (wecom-aibot.md §1.3.2).
  const crypto = new CallbackCrypto(config.wecom.aibot.token, config.wecom.aibot.aesKey, '');
  parts.mount.push((httpRouter) =>
    mountAibot(httpRouter, {
      crypto,
      inbox: parts.inbox,
      live,
      maxSkewSeconds: config.wecom.callbackMaxSkewSeconds,
      now,
      logger,
      working: () => translate(config.locale, 'aibot.working'),
      notACommand: () => translate(config.locale, 'hint.empty'),
      onMessage: parts.onMessage,
      observe: (result, seconds) => {
        parts.metrics.aibotCallbacks.inc({ result });
        parts.metrics.aibotCallbackSeconds.observe(seconds);
      },
    }),
  );
  return new AibotChannel(live, { locale: config.locale, apiBase: config.wecom.apiBase, clock, logger });
}
