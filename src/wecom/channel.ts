import { randomBytes } from 'node:crypto';
import type { Locale } from '../chat/i18n.js';
import type { Reply } from '../chat/reply.js';
import type { Recipient } from '../config/schema.js';
import { inConversation, recipientOf, separateMessages, type Address, type Channel, type LiveReply, type SendOptions } from '../channel/port.js';
import type { WecomCards } from './cards.js';
import { byteLimit, type Outbox } from './outbox.js';
import { render, renderCard, type MessageFormat } from './render.js';

/** WeCom refuses a card whose button key (the command) is over 1024 bytes; such an action is typed instead. */
const BUTTON_KEY_BYTES = 1024;

function withSendableActions(reply: Reply): Reply {
  if (!reply.actions?.some((action) => Buffer.byteLength(action.command) > BUTTON_KEY_BYTES)) return reply;
  return { ...reply, actions: reply.actions.filter((action) => Buffer.byteLength(action.command) <= BUTTON_KEY_BYTES) };
}

/**
 * Speaks on WeCom: renders a Reply for the app's message format and hands it to the durable outbox. A reply with
 * actions goes to a user as a template card with buttons (markdown format; the text format is for the WeChat
 * plugin, which shows neither markdown nor cards, so there the actions are commands to type).
 */
const newTaskId = () => `wekube-${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;

export class WecomChannel implements Channel {
  readonly name = 'wecom';

  constructor(
    private readonly outbox: Outbox,
    private readonly locale: Locale,
    private readonly format: MessageFormat,
    private readonly cards?: WecomCards,
  ) {}

  #asCard(to: Recipient, reply: Reply): boolean {
    return this.format === 'markdown' && 'user' in to && (reply.actions?.length ?? 0) > 0;
  }

  /** Users, app group chats and group robots; of conversations, only the app's own (single chats). */
  async reaches(to: Address): Promise<boolean> {
    return !inConversation(to) || to.conversation.channel === this.name;
  }

  async live(to: Address): Promise<LiveReply | undefined> {
    return (await this.reaches(to)) ? separateMessages(this, to) : undefined;
  }

  async send(address: Address, original: Reply, options: SendOptions = {}): Promise<void> {
    const to = recipientOf(address);
    const reply = withSendableActions(original);
    const urgent = reply.urgent ?? false;
    if (this.#asCard(to, reply) && 'user' in to) {
      // A card named by a ref keeps its task id when a click replaces it, so later updates find it.
      const taskId = (reply.ref && reply.replaces && (await this.cards?.taskOf(reply.ref, to.user))) || newTaskId();
      const card = renderCard(reply, this.locale, taskId);
      if (reply.replaces) return this.outbox.enqueue(to, JSON.stringify({ responseCode: reply.replaces, card }), 'update_template_card', { urgent, ...options });
      const { ref } = reply;
      const cards = this.cards;
      const alongside = ref && cards ? [...cards.opened(taskId, ref, to.user), ...(options.alongside ?? [])] : options.alongside;
      return this.outbox.enqueue(to, JSON.stringify(card), 'template_card', { urgent, ...options, alongside });
    }
    return this.outbox.enqueue(to, render(reply, this.locale, this.format), this.format, { urgent, ...options });
  }

  /**
   * Whether the reply goes out as one message to this recipient, measured as escaped JSON (a newline costs two
   * bytes), which is never less than what WeCom counts.
   */
  fits(address: Address, original: Reply): boolean {
    const to = recipientOf(address);
    const reply = withSendableActions(original);
    if (this.#asCard(to, reply)) return true;
    return Buffer.byteLength(JSON.stringify(render(reply, this.locale, this.format))) - 2 <= byteLimit(to, this.format);
  }

  room(address: Address): number {
    return this.outbox.room(recipientOf(address));
  }

  /** Each card sent with this ref whose send code is unspent becomes the new reply, in place. */
  async update(original: Reply & { ref: string }, options: { except?: string } = {}): Promise<void> {
    if (!this.cards || this.format !== 'markdown') return;
    const reply = withSendableActions(original);
    const cards = this.cards;
    for (const card of await cards.usable(original.ref)) {
      if (card.user === options.except) continue;
      const content = JSON.stringify({ responseCode: card.code, card: renderCard(reply, this.locale, card.taskId) });
      await this.outbox.enqueue({ user: card.user }, content, 'update_template_card', { alongside: cards.spent(card.taskId) });
    }
  }

  /** Greys out the buttons of the card a user clicked, showing what came of it. */
  updateCard(user: string, responseCode: string, replaceName: string): Promise<void> {
    return this.outbox.enqueue({ user }, JSON.stringify({ responseCode, replaceName }), 'update_template_card', { urgent: true });
  }
}
