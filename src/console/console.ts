import { createInterface } from 'node:readline';
import type { ChatRouter } from '../chat/router.js';
import { translate, type Locale } from '../chat/i18n.js';
import { renderPlain } from '../chat/render-plain.js';
import type { Reply } from '../chat/reply.js';
import type { Statement } from '../store/sql.js';
import { recipientOf, separateMessages, type Address, type Channel, type LiveReply, type SendOptions } from '../channel/port.js';

const describe = (address: Address) => {
  const to = recipientOf(address);
  return 'user' in to ? to.user : 'chat' in to ? `chat ${to.chat}` : 'robot';
};

/**
 * The channel when WeCom is not configured: what would be sent to anyone is written out (to the terminal, or to
 * the log when there is none), so alerts and digests can be watched locally.
 */
export class ConsoleChannel implements Channel {
  readonly name = 'console';

  constructor(
    private readonly write: (text: string) => void,
    private readonly locale: Locale,
    /** Commits the writes a message carries (its done mark) as it is written out. */
    private readonly commit: (statements: readonly Statement[]) => Promise<unknown>,
  ) {}

  /** Whatever is addressed is written out. */
  async reaches(): Promise<boolean> {
    return true;
  }

  /** Lines written cannot change. */
  async update(): Promise<void> {}

  async live(to: Address): Promise<LiveReply> {
    return separateMessages(this, to);
  }

  async send(to: Address, reply: Reply, options: SendOptions = {}): Promise<void> {
    if (options.alongside?.length) await this.commit(options.alongside);
    this.write(`${translate(this.locale, 'console.to', { to: describe(to) })}\n${renderPlain(reply, this.locale)}\n`);
  }

  /** The console has no limit of its own; it keeps to WeCom's smallest so what it shows is what WeCom would. */
  fits(_to: Address, reply: Reply): boolean {
    return Buffer.byteLength(renderPlain(reply, this.locale)) <= 2048;
  }
}

/** Reads commands from a terminal and runs them as `userId`; replies come back through the channel. */
export function startConsole(options: {
  router: ChatRouter;
  userId: string;
  locale: Locale;
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  run: (userId: string, text: string) => Promise<void>;
  onClose: () => void;
}): { close(): void } {
  const user = options.router.access.user(options.userId);
  options.output.write(`${translate(options.locale, 'console.banner', { user: user.id, roles: user.roles.join(', ') })}\n`);
  const lines = createInterface({ input: options.input, output: options.output, prompt: '> ' });
  let queue = Promise.resolve();
  lines.on('line', (line) => {
    queue = queue.then(() => options.run(user.id, line)).then(() => lines.prompt());
  });
  lines.on('close', options.onClose);
  lines.prompt();
  return { close: () => lines.close() };
}
