import type { Locale } from '../chat/i18n.js';
import type { Reply } from '../chat/reply.js';
import type { Recipient } from '../config/schema.js';
import type { Outbox } from './outbox.js';
import { render, type MessageFormat } from './render.js';

/** Speaks on WeCom: renders a Reply for the app's message format and hands it to the durable outbox. */
export class WecomChannel {
  constructor(
    private readonly outbox: Outbox,
    private readonly locale: Locale,
    private readonly format: MessageFormat,
  ) {}

  /** `alongside`: a change committed in the same write as the queued message (see state.ts). */
  send(to: Recipient, reply: Reply, alongside?: () => void): Promise<void> {
    return this.outbox.enqueue(to, render(reply, this.locale, this.format), this.format, reply.urgent ?? false, alongside);
  }
}
