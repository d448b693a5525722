import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { systemClock, type Clock } from '../../src/clock/clock.js';
import { loadConfig } from '../../src/config/load.js';
import { startWekube, type Wekube } from '../../src/wekube.js';
import { CallbackSender } from '../fakes/callback-sender.js';
import { FakeWecom, type Delivery, type FakeWecomOptions } from '../fakes/wecom-server.js';

export const WECOM = {
  corpId: 'wwa1b2c3d4e5f60708',
  agentId: 1000002,
  secret: 'test-app-secret',
  token: 'wekubeTestToken01',
  aesKey: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
};

/** The 智能机器人's own callback credentials (separate from the app's). */
export const AIBOT = { token: 'aibotTestToken02', aesKey: 'ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut' };

export const USERS = ['zhangsan', 'lisi', 'wangwu', 'zhaoliu', 'sunqi', 'zhouba'];
export const TEMPLATE = fileURLToPath(new URL('../../config/templates/deployment.yaml', import.meta.url));

/** A config file for tests: the example's access rules, WeCom pointed at the fake, a fresh data dir. */
export function writeConfig(options: { apiBase: string; dataDir?: string; extra?: Record<string, unknown>; aibot?: boolean }): { file: string; dataDir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'wekube-bot-'));
  const dataDir = options.dataDir ?? join(dir, 'data');
  const config = {
    locale: 'zh-CN',
    defaultEnvironment: 'test',
    server: { port: 0, host: '127.0.0.1' },
    store: { dataDir },
    // The fake serves WeCom's API and its web login page alike.
    wecom: { ...WECOM, apiBase: options.apiBase, oauthBase: options.apiBase, ...(options.aibot ? { aibot: AIBOT } : {}) },
    access: {
      defaultRole: 'viewer',
      roles: {
        viewer: { allow: ['help', 'status', 'history', 'subscribe', 'unsubscribe', 'alerts', 'whoami', 'drill', 'claim', 'unclaim'] },
        developer: { allow: ['*'], environments: ['test'] },
        ops: { allow: ['*'], environments: ['*'], approve: true },
      },
      users: { zhangsan: ['developer'], lisi: ['ops'] },
    },
    environments: { test: { namespace: 'shop-test' }, prod: { namespace: 'shop', protected: true, approvals: 1 } },
    templates: { deployment: TEMPLATE },
    ...options.extra,
  };
  const file = join(dir, 'wekube.yaml');
  writeFileSync(file, stringify(config));
  return { file, dataDir };
}

export interface TestBot {
  fake: FakeWecom;
  wekube: Wekube;
  sender: CallbackSender;
  dataDir: string;
  stop(): Promise<void>;
}

export async function startBot(options: { fake?: Partial<FakeWecomOptions>; extra?: Record<string, unknown>; now?: () => number; clock?: Clock; dataDir?: string; aibot?: boolean } = {}): Promise<TestBot> {
  // WeCom's clock is the test's clock: its rate windows and code expiry move with the bot's.
  const now = options.clock?.now ?? options.now;
  const fake = new FakeWecom({ corpId: WECOM.corpId, apps: [{ agentId: WECOM.agentId, secret: WECOM.secret }], users: USERS, ...(now ? { now } : {}), ...options.fake });
  await fake.start();
  const { file, dataDir } = writeConfig({ apiBase: fake.url, extra: options.extra, dataDir: options.dataDir, aibot: options.aibot });
  const config = loadConfig({ file, env: {} });
  const wekube = await startWekube({ config, logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }), clock: options.clock ?? (options.now ? { ...systemClock, now: options.now } : undefined) });
  const sender = new CallbackSender({ url: wekube.url, ...WECOM, now });
  return {
    fake,
    wekube,
    sender,
    dataDir,
    async stop() {
      await wekube.stop();
      await fake.stop();
    },
  };
}

/** A WeCom conversation with the bot: what a user sends, and the messages they see. */
export class Conversation {
  constructor(private readonly bot: TestBot) {}

  /** Everything the user has been shown so far. */
  seen(user: string): string[] {
    return this.bot.fake.shown(`user:${user}`).map((delivery) => delivery.content);
  }

  /** Sends a text as the user; resolves with how many messages the user had seen before it. */
  async send(user: string, text: string): Promise<number> {
    const before = this.seen(user).length;
    const answer = await this.bot.sender.deliver(this.bot.sender.text(user, text));
    if (answer.status !== 200) throw new Error(`callback answered ${answer.status}`);
    return before;
  }

  /** The first message shown to the user after index `from` that matches, waiting for it. */
  async expect(user: string, pattern: RegExp, from = 0, timeoutMs = 20_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.seen(user).slice(from).find((content) => pattern.test(content));
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`${user} never saw ${pattern}; saw:\n${this.seen(user).slice(from).join('\n---\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** The first template card shown to the user after index `from`, waiting for it. */
  async card(user: string, from = 0, timeoutMs = 20_000): Promise<NonNullable<Delivery['card']> & { delivery: Delivery }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const delivery = this.bot.fake.shown(`user:${user}`).slice(from).find((d) => d.card);
      if (delivery) return { ...delivery.card!, delivery };
      if (Date.now() > deadline) throw new Error(`${user} never got a card`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** Clicks a card's button as WeCom reports it: a template_card_event with the button's key. */
  async click(user: string, card: { task_id: string; button_list?: { key: string }[] }, button: number): Promise<number> {
    const before = this.seen(user).length;
    const code = this.bot.fake.clickCode(card.task_id, user);
    const answer = await this.bot.sender.deliver(this.bot.sender.cardClick(user, card.task_id, card.button_list![button]!.key, code));
    if (answer.status !== 200) throw new Error(`callback answered ${answer.status}`);
    return before;
  }

  /** Sends, then waits for a matching answer; a reply split into numbered parts "(1/3)" comes back whole. */
  async askAll(user: string, text: string, pattern: RegExp, timeoutMs?: number): Promise<string> {
    const from = await this.send(user, text);
    const first = await this.expect(user, pattern, from, timeoutMs);
    const parts = /\n\(1\/(\d+)\)$/.exec(first);
    if (!parts) return first;
    const total = Number(parts[1]);
    const start = this.seen(user).indexOf(first, from);
    await this.expect(user, new RegExp(`\\n\\(${total}/${total}\\)$`), start, timeoutMs);
    return this.seen(user).slice(start, start + total).join('\n');
  }

  /** Sends, then waits for a matching answer. */
  async ask(user: string, text: string, pattern: RegExp, timeoutMs?: number): Promise<string> {
    const from = await this.send(user, text);
    return this.expect(user, pattern, from, timeoutMs);
  }
}
