import type { Logger } from 'pino';
import type { Locale } from '../chat/i18n.js';
import type { Reply } from '../chat/reply.js';
import type { Clock } from '../clock/clock.js';
import { inConversation, type Address, type Channel, type LiveReply, type SendOptions } from '../channel/port.js';
import { fitStream, STREAM_BYTES, type LiveMessage, type LiveMessages } from './aibot.js';
import { renderMarkdown } from './render.js';

/**
 * The 智能机器人 as an adapter of the channel port. It cannot speak unprompted (in URL mode it only answers): it
 * reaches a conversation only through a message said there, first by that message's live message while WeCom polls
 * it, then once by its response_url (within the hour). A command's progress and result fill the live message in
 * place; when WeCom has stopped polling (a long rollout, a change approved later) the whole story goes in the one
 * response_url answer, which WeCom shows quoting the asker's message.
 */
export class AibotChannel implements Channel {
  readonly name = 'aibot';

  constructor(
    private readonly streams: LiveMessages,
    private readonly options: { locale: Locale; apiBase: string; clock: Clock; logger: Logger },
  ) {}

  async #stream(to: Address): Promise<LiveMessage | undefined> {
    if (!inConversation(to) || to.conversation.channel !== this.name || !to.conversation.message) return undefined;
    const stream = await this.streams.forMessage(to.conversation.message);
    return stream && (this.streams.polled(stream) || this.streams.answerable(stream)) ? stream : undefined;
  }

  async reaches(to: Address): Promise<boolean> {
    return (await this.#stream(to)) !== undefined;
  }

  fits(_to: Address, reply: Reply): boolean {
    return Buffer.byteLength(renderMarkdown(reply, this.options.locale)) <= STREAM_BYTES;
  }

  async send(to: Address, reply: Reply, options: SendOptions = {}): Promise<void> {
    const live = await this.live(to);
    if (live) return live.finish(reply, options);
    await this.streams.commit(options.alongside);
  }

  /** A passive answer cannot be changed after it was given. */
  async update(): Promise<void> {}

  async live(to: Address): Promise<LiveReply | undefined> {
    const stream = await this.#stream(to);
    if (!stream) return undefined;
    // A live message still polled goes on from what it shows (a restart's notice follows the progress before it).
    const shown: string[] = this.streams.polled(stream) && stream.content ? [stream.content] : [];
    const add = (reply: Reply) => {
      const text = renderMarkdown(reply, this.options.locale);
      if (text.trim()) shown.push(text);
      return shown.join('\n\n');
    };
    return {
      progress: async (reply) => {
        const content = add(reply);
        if (this.streams.polled(stream)) await this.streams.set(stream, content, false);
      },
      finish: async (reply, options = {}) => {
        const content = add(reply);
        // WeCom's next refresh shows it.
        if (this.streams.polled(stream)) return this.streams.set(stream, content, true, options.alongside);
        if (this.streams.answerable(stream)) await this.#respond(stream.responseUrl!, content);
        await this.streams.markResponded(stream, options.alongside);
      },
    };
  }

  /** One answer by response_url. Only WeCom's own origin is ever called; a refusal is final (the URL is single-use). */
  async #respond(url: string, content: string): Promise<void> {
    const { logger, clock } = this.options;
    if (new URL(url).origin !== new URL(this.options.apiBase).origin) {
      logger.warn({ origin: new URL(url).origin }, 'response_url is not on the WeCom API origin; not called');
      return;
    }
    for (let attempt = 1; ; attempt++) {
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ msgtype: 'markdown', markdown: { content: fitStream(content) } }),
          signal: AbortSignal.timeout(10_000),
        });
        const answer = (await response.json().catch(() => ({}))) as { errcode?: number; errmsg?: string };
        if (!response.ok || (answer.errcode ?? 0) !== 0) logger.warn({ status: response.status, errcode: answer.errcode, errmsg: answer.errmsg }, 'response_url refused the answer');
        return;
      } catch (error) {
        if (attempt >= 3) return void logger.error({ err: error }, 'could not answer through response_url');
        await clock.sleep(1000 * attempt);
      }
    }
  }
}
