import type { Logger } from 'pino';
import type { Reply } from '../chat/reply.js';
import type { Statement } from '../store/sql.js';
import { recipientLabel } from '../config/schema.js';
import { inConversation, type Address, type Channel, type ChannelName, type LiveReply, type SendOptions } from './port.js';

/**
 * Every adapter behind the one port. A reply goes back through the adapter of the conversation it answers; when
 * that adapter cannot reach it any more (an AI-bot message past WeCom's answer window), it goes to the user's single
 * chat on the proactive adapter instead. Notifications (approvals, alerts, drills) go through the proactive adapter:
 * the WeCom app when it is configured, else the console.
 */
export class Channels implements Channel {
  readonly name: ChannelName;
  readonly #byName = new Map<ChannelName, Channel>();

  constructor(
    private readonly proactive: Channel,
    others: readonly Channel[],
    private readonly logger: Logger,
    /** Commits the writes a message that cannot be sent was to carry (its done mark), so it is not tried again. */
    private readonly commit: (statements: readonly Statement[]) => Promise<unknown>,
  ) {
    this.name = proactive.name;
    for (const channel of [proactive, ...others]) this.#byName.set(channel.name, channel);
  }

  /** The adapter that delivers to an address, and the address it delivers to. */
  async #route(to: Address): Promise<{ channel: Channel; to: Address } | undefined> {
    if (inConversation(to)) {
      const own = this.#byName.get(to.conversation.channel);
      if (own && (await own.reaches(to))) return { channel: own, to };
      to = { user: to.user };
    }
    return (await this.proactive.reaches(to)) ? { channel: this.proactive, to } : undefined;
  }

  async reaches(to: Address): Promise<boolean> {
    return (await this.#route(to)) !== undefined;
  }

  async send(to: Address, reply: Reply, options: SendOptions = {}): Promise<void> {
    const route = await this.#route(to);
    if (route) return route.channel.send(route.to, reply, options);
    // Nothing can deliver it (an AI bot alone cannot speak unprompted): said in the log, and the work goes on.
    this.logger.warn({ to: inConversation(to) ? `${to.conversation.channel}:${to.conversation.kind}` : recipientLabel(to) }, 'no channel reaches this recipient; message not sent');
    if (options.alongside?.length) await this.commit(options.alongside);
  }

  /** Measured for the adapter of the address. */
  fits(to: Address, reply: Reply): boolean {
    return this.#measuring(to).fits(to, reply);
  }

  room(to: Address): number | undefined {
    return this.#measuring(to).room?.(to);
  }

  /** The adapter a message to the address is measured for: a conversation's own, else the proactive one. */
  #measuring(to: Address): Channel {
    return (inConversation(to) && this.#byName.get(to.conversation.channel)) || this.proactive;
  }

  async update(reply: Reply & { ref: string }, options?: { except?: string }): Promise<void> {
    for (const channel of this.#byName.values()) await channel.update(reply, options);
  }

  async live(to: Address): Promise<LiveReply> {
    if (inConversation(to)) {
      const own = await this.#byName.get(to.conversation.channel)?.live(to);
      if (own) return own;
    }
    const route = await this.#route(to);
    return (await route?.channel.live(route.to)) ?? { progress: (reply) => this.send(to, reply), finish: (reply, options) => this.send(to, reply, options) };
  }
}
