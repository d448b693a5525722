import pLimit from 'p-limit';
import type { Logger } from 'pino';
import type { Channels } from '../channel/channels.js';
import type { Conversation } from '../channel/port.js';
import { translate, type Locale, type MessageKey } from '../chat/i18n.js';
import { excerpt } from '../chat/parse.js';
import { textReply, type Reply } from '../chat/reply.js';
import type { ChatRouter } from '../chat/router.js';
import type { Clock } from '../clock/clock.js';
import type { WecomChannel } from './channel.js';
import { FloodGate } from './flood.js';
import type { Inbox } from './inbox.js';
import type { InboundMessage } from './messages.js';

/** The conversation a message was said in: the app hears only single chats; the AI bot also hears groups. */
export function conversationOf(message: InboundMessage): Conversation {
  const { aibot } = message;
  if (!aibot) return { channel: 'wecom', kind: 'single', id: message.from };
  return { channel: 'aibot', kind: aibot.chatType, id: aibot.chatType === 'group' && aibot.chatId ? aibot.chatId : message.from, message: aibot.msgId };
}

/** What a card's buttons were, for the label that replaces them after a click. */
const ACTION_LABELS: Record<string, MessageKey> = {
  confirm: 'action.confirm',
  cancel: 'action.cancel',
  approve: 'action.approve',
  claim: 'action.claim',
  'drill resume': 'action.resume',
  'drill abort': 'action.abort',
  'drill start': 'action.start',
};

export interface InboundParts {
  inbox: Inbox;
  router: ChatRouter;
  /** Every adapter behind the port: the answer goes back to the message's conversation. */
  channel: Channels;
  /** The app's channel, which greys out the buttons of a card clicked in the app. */
  appCards?: WecomChannel;
  locale: Locale;
  clock: Clock;
  logger: Logger;
  /** Whether wekube is stopping: a store retry then gives up and leaves the message to the restart. */
  stopping: () => boolean;
}

/** How many messages run at once before they start reporting progress; the rest wait their turn, in order. */
const RUNNING_AT_ONCE = 16;

/**
 * How a message that came in through either WeCom path runs, once the inbox has it: a text (or a card button's
 * key) runs as a command as the user who sent it, its progress and result answer in the conversation it came from;
 * anything else is pointed at `help`. After a restart, what was acked but never started runs now, and what a restart
 * cut off is reported in its conversation instead of run again (it may have changed something).
 */
export interface InboundMessages {
  /** Runs a stored message (once, however often it is handed over); resolves when it has run or was left for the next start. */
  handle(message: InboundMessage): Promise<void>;
  /** Runs a message this process has just acknowledged, like `handle`; its arrival counts toward a flood (flood.ts). */
  accepted(message: InboundMessage): Promise<void>;
  /** Messages accepted here and not yet started (waiting for a turn, or held back by a flood). */
  waiting(): number;
  /** Whether a message is running or waiting for its turn here. */
  has(key: string): boolean;
  recover(): Promise<{ toRun: InboundMessage[]; interrupted: number }>;
}

export function inboundMessages(parts: InboundParts): InboundMessages {
  const { inbox, router, channel, logger } = parts;

  /**
   * Retries a write the store refused (a full disk) until it goes through: the message was acknowledged, so its
   * start and its reply must not be dropped. Gives up only when wekube stops; a restart then runs or reports it.
   */
  async function untilStored(write: () => Promise<void> | void, key: string): Promise<void> {
    for (let wait = 500; ; wait = Math.min(wait * 2, 30_000)) {
      try {
        return await write();
      } catch (error) {
        if (parts.stopping()) throw error;
        logger.warn({ err: error, key, retryInMs: wait }, 'could not store a step of a message; will try again');
        await parts.clock.sleep(wait);
      }
    }
  }

  /** Messages being handled here or waiting their turn: the leader's poll and the accepting callback may both hand one over. */
  const inProgress = new Set<string>();
  /**
   * Turns to run. A burst of callbacks is acked as fast as it is stored and then run a few at a time, in order, so
   * the acks keep their pace. A message gives its turn back once it reports progress (a rollout being followed waits
   * on the cluster, not on this process), so changes under way never hold up a quick `status`. While callbacks flood
   * in, the gate holds most starts back so the acks keep their pace (flood.ts).
   */
  const turns = pLimit(RUNNING_AT_ONCE);
  const gate = new FloodGate({ clock: parts.clock });
  /** Handed over and not started yet. */
  let waiting = 0;

  function handle(message: InboundMessage): Promise<void> {
    const key = message.dedupKey;
    if (inProgress.has(key)) return Promise.resolve();
    inProgress.add(key);
    waiting++;
    return new Promise<void>((settled) => {
      void turns(
        () =>
          new Promise<void>((giveTurnBack) => {
            // Stopping: what has not started stays in the inbox as received, and the next start runs it.
            const running = gate.turn().then(() => {
              waiting--;
              return parts.stopping() ? undefined : run(message, giveTurnBack);
            });
            void running.finally(() => {
              giveTurnBack();
              inProgress.delete(key);
              settled();
            });
          }),
      );
    });
  }

  async function run(message: InboundMessage, progressing: () => void): Promise<void> {
    const key = message.dedupKey;
    const conversation = conversationOf(message);
    const to = { conversation, user: message.from };
    const clicked = message.event === 'template_card_event' && message.eventKey ? message.eventKey : undefined;
    const text = message.msgType === 'event' ? clicked : message.content;
    try {
      if (text === undefined) {
        // Images, voice, files: not commands; point at help (the AI bot did so in its ack). Other events need no answer.
        if (message.msgType === 'event' || message.aibot) return await untilStored(() => inbox.done(key), key);
        return await untilStored(() => channel.send(to, { ...textReply('hint.empty', undefined, 'muted'), urgent: true }, { alongside: inbox.doneMark(key) }), key);
      }
      await untilStored(() => inbox.started(key), key);
      const live = await channel.live(to);
      // A card button's key is the command it stands for, run as the user who clicked (with every check).
      const answer = await router.handle({ userId: message.from, text, cardCode: message.responseCode, conversation, progress: (reply) => {
          progressing();
          return live.progress(reply);
        },
      });
      if (clicked && message.responseCode) await untilStored(() => greyOut(message, clicked, answer), key);
      await untilStored(() => live.finish(answer, { alongside: inbox.doneMark(key) }), key);
    } catch (error) {
      logger.error({ err: error, key }, 'message could not be handled');
    }
  }

  /**
   * The app's card a user clicked shows what came of it. A drill step card is replaced by the next step's card (the
   * runner holds the click's code); a refused click leaves the card as it is, so the user can answer by typing.
   */
  async function greyOut(message: InboundMessage, command: string, answer: Reply): Promise<void> {
    const [word, sub] = command.toLowerCase().split(' ');
    // An answer that replaces the card spends the click's code itself.
    if (!parts.appCards || answer.replaces === message.responseCode || (word === 'drill' && ['done', 'skip', 'fail'].includes(sub ?? ''))) return;
    const failed = answer.blocks.some((block) => 'tone' in block && block.tone === 'error');
    const label = translate(parts.locale, ACTION_LABELS[word === 'drill' ? `drill ${sub}` : word!] ?? 'card.action');
    await parts.appCards.updateCard(message.from, message.responseCode!, translate(parts.locale, failed ? 'card.failed' : 'card.done', { action: label }));
  }

  /** After a restart: reports what was cut off; returns what was never started, for the caller to run. */
  async function recover(): Promise<{ toRun: InboundMessage[]; interrupted: number }> {
    const unfinished = await inbox.unfinished();
    // Messages this process is running (it led before, lost the lease for a moment, and leads again) are not cut off.
    const interrupted = unfinished.interrupted.filter((message) => !inProgress.has(message.dedupKey));
    const toRun = unfinished.toRun;
    for (const message of interrupted) {
      const notice = { ...textReply('error.interrupted', { text: excerpt(message.content ?? message.eventKey ?? '', 80) }, 'warning'), urgent: true };
      await (await channel.live({ conversation: conversationOf(message), user: message.from })).finish(notice, { alongside: inbox.doneMark(message.dedupKey) });
    }
    return { toRun, interrupted: interrupted.length };
  }

  return {
    handle,
    accepted(message) {
      gate.arrived();
      return handle(message);
    },
    waiting: () => waiting,
    has: (key) => inProgress.has(key),
    recover,
  };
}
