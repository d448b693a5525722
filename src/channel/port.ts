import type { Reply } from '../chat/reply.js';
import type { Recipient } from '../config/schema.js';
import type { Statement } from '../store/sql.js';

// The one channel port: every platform path wekube speaks on (the WeCom app, the WeCom 智能机器人, the console)
// implements `Channel`; a later DingTalk or Feishu path is one more adapter. Domain code never sees a platform's
// payloads: it sends neutral Replies to addresses and answers messages in their conversations.

/** The adapters: `wecom` (the self-built app), `aibot` (the 智能机器人), `console` (a terminal or the log). */
export type ChannelName = 'wecom' | 'aibot' | 'console';

/** Where a message was said: one person's single chat with the bot, or a group, on one adapter. */
export interface Conversation {
  channel: ChannelName;
  kind: 'single' | 'group';
  /** The user's id in a single chat, the group's chat id in a group. */
  id: string;
  /** The message being answered, where an adapter answers a message rather than a conversation (the AI bot). */
  message?: string;
}

/**
 * Where a message goes: a configured recipient (a user's single chat, an app group chat, or a platform's own kind
 * such as a WeCom group robot, which only that adapter reaches), or back to the conversation a user spoke in; when
 * that conversation cannot be reached any more, the user's single chat instead.
 */
export type Address = Recipient | { conversation: Conversation; user: string };

export const inConversation = (to: Address): to is { conversation: Conversation; user: string } => 'conversation' in to;

export interface SendOptions {
  /** Writes committed in the same transaction as the queued message (an inbox done mark, a batch leaving). */
  alongside?: readonly Statement[];
  /** The producer's id for the message: sending the same key again does nothing. */
  key?: string;
}

/**
 * The answer to one message: the command's progress and then its result. Where the channel can (the AI bot's
 * stream), it is one message updated in place; elsewhere each progress is a message of its own, as in a terminal.
 */
export interface LiveReply {
  progress(reply: Reply): Promise<void>;
  finish(reply: Reply, options?: SendOptions): Promise<void>;
}

export interface Channel {
  readonly name: ChannelName;
  /** Whether this adapter can deliver to the address now (a robot key only on WeCom; an AI-bot message only while WeCom lets the bot answer it). */
  reaches(to: Address): Promise<boolean>;
  send(to: Address, reply: Reply, options?: SendOptions): Promise<void>;
  /** Whether the reply goes out as one message to this address. */
  fits(to: Address, reply: Reply): boolean;
  /**
   * How many messages the address can be sent now without eating into the share of its rate limits kept for
   * replies to commands (at least 1); undefined where the channel has no such limits.
   */
  room?(to: Address): number | undefined;
  /** The answer to a message at this address; undefined when this adapter cannot answer there any more. */
  live(to: Address): Promise<LiveReply | undefined>;
  /**
   * Updates in place the messages sent with `reply.ref` that the channel can still update (WeCom app cards, once per
   * response code); `except` is a user whose message the current click updates itself. Elsewhere nothing happens.
   */
  update(reply: Reply & { ref: string }, options?: { except?: string }): Promise<void>;
}

/** A live reply where the channel has no message to update: every progress and the result go as messages of their own. */
export function separateMessages(channel: Pick<Channel, 'send'>, to: Address): LiveReply {
  return {
    progress: (reply) => channel.send(to, { ...reply, urgent: true }),
    finish: (reply, options) => channel.send(to, reply, options),
  };
}

/** The recipient a conversation stands for on adapters that speak to users and groups by id. */
export function recipientOf(to: Address): Recipient {
  if (!inConversation(to)) return to;
  return to.conversation.kind === 'single' ? { user: to.conversation.id } : { chat: to.conversation.id };
}
