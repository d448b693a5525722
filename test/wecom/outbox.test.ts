import { pino } from 'pino';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WecomApi } from '../../src/wecom/api.js';
import { Outbox, type FailedEntry, type Window } from '../../src/wecom/outbox.js';
import { FakeWecom, type FakeWecomOptions } from '../fakes/wecom-server.js';
import { storeBackends, type StoreBackend } from '../helpers/backends.js';
import { waitFor } from '../helpers/wait.js';

const logger = pino({ level: 'silent' });
const CORP = 'wwfaketestcorp';
const APP = { agentId: 1000002, secret: 'app-secret' };

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

// The outbox's contract on both backends: the embedded SQLite file and a real PostgreSQL server.
const backends = storeBackends('outbox');
let backend: StoreBackend;

async function setup(
  options: {
    fake?: Partial<FakeWecomOptions>;
    secret?: string;
    limits?: Record<'user' | 'chat' | 'robot', Window[]>;
    timeoutMs?: number;
    dataDir?: string;
    giveUpAfterMs?: number;
    onGiveUp?: (failed: FailedEntry) => void;
    fence?: () => { sql: string; params: readonly (string | number | null)[] };
  } = {},
) {
  const fake = new FakeWecom({ corpId: CORP, apps: [APP], users: ['zhangsan', 'lisi'], robots: ['robot-key'], chats: ['opschat'], ...options.fake });
  await fake.start();
  const dataDir = options.dataDir ?? (await backend.place());
  const api = new WecomApi({ apiBase: fake.url, corpId: CORP, secret: options.secret ?? APP.secret, agentId: APP.agentId, logger, timeoutMs: options.timeoutMs ?? 2000 });
  const db = await backend.open(dataDir);
  const outbox = await Outbox.open(db.sql, {
    api,
    logger,
    limits: options.limits,
    retryBaseMs: 50,
    retryMaxMs: 400,
    rateWaitMs: 300,
    urgentRateWaitMs: 40,
    pauseMs: 60_000,
    giveUpAfterMs: options.giveUpAfterMs,
    onGiveUp: options.onGiveUp,
    fence: options.fence,
  });
  await outbox.start();
  cleanup.push(async () => {
    await outbox.stop();
    await db.close();
    await fake.stop();
  });
  return { fake, outbox, api, dataDir, db };
}

describe.each(backends)('WeCom client and outbox on $name', (current) => {
  beforeAll(() => {
    backend = current;
  });

  it('sends only while it leads: a fenced outbox keeps its messages for the leader', async () => {
    let leading = false;
    const { fake, outbox } = await setup({ fence: () => ({ sql: leading ? '1 = 1' : '1 = 0', params: [] }) });
    await outbox.enqueue({ user: 'zhangsan' }, 'while a standby', 'text');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(fake.shown('user:zhangsan')).toEqual([]);
    expect(outbox.pending).toBe(1);
    leading = true;
    await waitFor(() => fake.shown('user:zhangsan').length === 1, 10_000);
    expect(fake.shown('user:zhangsan')[0]!.content).toBe('while a standby');
  });

  it('fetches one token for many sends and reuses it', async () => {
    const { fake, outbox } = await setup();
    for (let i = 0; i < 5; i++) await outbox.enqueue({ user: 'zhangsan' }, `message ${i}`, 'text');
    // The same producer key twice (a flush repeated after a crash) is one message.
    await outbox.enqueue({ user: 'zhangsan' }, 'keyed', 'text', { key: 'digest:1' });
    await outbox.enqueue({ user: 'zhangsan' }, 'keyed', 'text', { key: 'digest:1' });
    await waitFor(() => fake.shown('user:zhangsan').length === 6);
    expect(fake.gettokenCalls).toBe(1);
    expect(fake.shown('user:zhangsan').map((d) => d.content)).toEqual(['message 0', 'message 1', 'message 2', 'message 3', 'message 4', 'keyed']);
  });

  it('refreshes once and resends when WeCom expires the token early (42001)', async () => {
    const { fake, outbox } = await setup();
    await outbox.enqueue({ user: 'lisi' }, 'first', 'text');
    await waitFor(() => fake.shown('user:lisi').length === 1);
    fake.expireTokens();
    await outbox.enqueue({ user: 'lisi' }, 'second', 'text');
    await waitFor(() => fake.shown('user:lisi').length === 2);
    expect(fake.gettokenCalls).toBe(2);
    expect(fake.requests.filter((r) => r.errcode === 42001)).toHaveLength(1);
  });

  it('does not hammer gettoken with a wrong secret (40001), and keeps the messages', async () => {
    const { fake, outbox, api } = await setup({ secret: 'wrong' });
    await outbox.enqueue({ user: 'lisi' }, 'kept', 'text');
    await outbox.enqueue({ user: 'zhangsan' }, 'kept too', 'text');
    await waitFor(() => fake.gettokenCalls >= 1);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(fake.gettokenCalls).toBe(1);
    expect(outbox.pending).toBe(2);
    expect(api.tokenState()).toEqual({ ok: false, detail: expect.stringContaining('40001') });
    expect(api.tokenState().detail).not.toContain('wrong');
  });

  it('retries -1 with backoff and delivers once', async () => {
    const { fake, outbox } = await setup();
    fake.inject('/cgi-bin/message/send', { errcode: -1 }, { errcode: -1 });
    await outbox.enqueue({ user: 'lisi' }, 'busy', 'text');
    await waitFor(() => fake.shown('user:lisi').length === 1);
    expect(fake.requests.filter((r) => r.path === '/cgi-bin/message/send')).toHaveLength(3);
  });

  it('waits after 45009 and then delivers', async () => {
    const { fake, outbox } = await setup();
    fake.inject('/cgi-bin/message/send', { errcode: 45009 });
    await outbox.enqueue({ user: 'lisi' }, 'later', 'text');
    await waitFor(() => fake.shown('user:lisi').length === 1);
    const sends = fake.requests.filter((r) => r.path === '/cgi-bin/message/send');
    expect(sends[1]!.at - sends[0]!.at).toBeGreaterThanOrEqual(290);
  });

  it('after 45009 lets an urgent message try again within seconds and never holds it behind a digest waiting out the minute', async () => {
    const { fake, outbox } = await setup();
    const sends = () => fake.requests.filter((r) => r.path === '/cgi-bin/message/send');
    // A digest meets 45009 and waits out the minute; an urgent reply queued meanwhile goes at once.
    fake.inject('/cgi-bin/message/send', { errcode: 45009 });
    await outbox.enqueue({ user: 'lisi' }, 'digest', 'text');
    await waitFor(() => sends().length === 1);
    await outbox.enqueue({ user: 'lisi' }, 'urgent reply', 'text', { urgent: true });
    await waitFor(() => fake.shown('user:lisi').length === 1);
    expect(fake.shown('user:lisi')[0]!.content).toBe('urgent reply');
    // An urgent message that meets 45009 itself tries again after its own short wait, ahead of the waiting digest.
    fake.inject('/cgi-bin/message/send', { errcode: 45009 });
    await outbox.enqueue({ user: 'lisi' }, 'urgent alert', 'text', { urgent: true });
    await waitFor(() => fake.shown('user:lisi').length === 2);
    const [digest, reply, alert, again] = sends();
    expect([digest, reply, alert, again].map((r) => r!.errcode)).toEqual([45009, 0, 45009, 0]);
    expect(again!.at - alert!.at).toBeLessThan(200);
    expect(fake.shown('user:lisi')[1]!.content).toBe('urgent alert');
    await waitFor(() => fake.shown('user:lisi').length === 3);
    expect(fake.shown('user:lisi')[2]!.content).toBe('digest');
    expect(sends()[4]!.at - digest!.at).toBeGreaterThanOrEqual(290);
  });

  it('tells a producer of many messages how many it may queue and still leave a third of each window for replies', async () => {
    const { fake, outbox } = await setup({ limits: { user: [{ windowMs: 60_000, max: 30 }], chat: [{ windowMs: 60_000, max: 200 }], robot: [{ windowMs: 60_000, max: 20 }] } });
    expect(outbox.room({ user: 'lisi' })).toBe(20);
    expect(outbox.room({ robot: 'robot-key' })).toBe(13);
    for (let i = 0; i < 5; i++) await outbox.enqueue({ user: 'lisi' }, `m${i}`, 'text');
    await waitFor(() => fake.shown('user:lisi').length === 5);
    expect(outbox.room({ user: 'lisi' })).toBe(15);
    for (let i = 0; i < 30; i++) await outbox.enqueue({ user: 'lisi' }, `n${i}`, 'text');
    // Sent and queued use up the share; a producer may still send one (the outbox spaces it).
    expect(outbox.room({ user: 'lisi' })).toBe(1);
    expect(outbox.room({ user: 'zhangsan' })).toBe(20);
  });

  it('resends after a timeout, and WeCom shows the message once (duplicate check)', async () => {
    const { fake, outbox } = await setup({ timeoutMs: 200 });
    fake.inject('/cgi-bin/message/send', { delayMs: 1000 });
    await outbox.enqueue({ user: 'zhangsan' }, 'slow answer', 'text');
    await waitFor(() => outbox.pending === 0);
    const deliveries = fake.deliveries.filter((d) => d.to === 'user:zhangsan');
    expect(deliveries.map((d) => d.dropped ?? 'shown')).toEqual(['shown', 'duplicate']);
  });

  it('sends identical texts of two different messages both (help twice)', async () => {
    const { fake, outbox } = await setup();
    await outbox.enqueue({ user: 'zhangsan' }, 'same text', 'text');
    await outbox.enqueue({ user: 'zhangsan' }, 'same text', 'text');
    await waitFor(() => outbox.pending === 0);
    expect(fake.shown('user:zhangsan')).toHaveLength(2);
  });

  it('holds the 31st message of a minute for a member instead of letting WeCom drop it', async () => {
    const { fake, outbox } = await setup();
    for (let i = 0; i < 35; i++) await outbox.enqueue({ user: 'zhangsan' }, `burst ${i}`, 'text');
    await waitFor(() => fake.deliveries.length >= 30);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(fake.deliveries).toHaveLength(30);
    expect(fake.deliveries.every((d) => d.shown)).toBe(true);
    expect(outbox.pending).toBe(5);
  });

  it('sends everything within scaled windows, never over a limit, for users and robots', async () => {
    const limits = { user: [{ windowMs: 1000, max: 3 }], chat: [{ windowMs: 1000, max: 3 }], robot: [{ windowMs: 1000, max: 2 }] };
    const { fake, outbox } = await setup({
      limits,
      fake: { memberLimits: [{ windowMs: 1000, max: 3 }], robotLimit: { windowMs: 1000, max: 2 } },
    });
    for (let i = 0; i < 8; i++) {
      await outbox.enqueue({ user: 'zhangsan' }, `u${i}`, 'text');
      await outbox.enqueue({ robot: 'robot-key' }, `r${i}`, 'markdown');
    }
    await waitFor(() => outbox.pending === 0, 15_000);
    expect(fake.shown('user:zhangsan').map((d) => d.content)).toEqual(['u0', 'u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u7']);
    expect(fake.shown('robot:robot-key')).toHaveLength(8);
    expect(fake.deliveries.every((d) => d.shown)).toBe(true);
    expect(fake.requests.some((r) => r.errcode === 45009)).toBe(false);
  });

  it('splits long replies within the byte limits: app markdown 2048, robot markdown 4096', async () => {
    const { fake, outbox } = await setup();
    const lines = Array.from({ length: 200 }, (_, i) => `**pod-${i}** <font color="warning">CrashLoopBackOff</font> 容器反复退出`);
    const text = lines.join('\n');
    await outbox.enqueue({ user: 'lisi' }, text, 'markdown');
    await outbox.enqueue({ robot: 'robot-key' }, text, 'markdown');
    await waitFor(() => outbox.pending === 0);
    const app = fake.shown('user:lisi');
    const robot = fake.shown('robot:robot-key');
    expect(app.length).toBeGreaterThan(robot.length);
    for (const delivery of app) expect(delivery.bytes).toBeLessThanOrEqual(2048);
    for (const delivery of robot) expect(delivery.bytes).toBeLessThanOrEqual(4096);
    const body = (parts: typeof app) => parts.map((d) => d.content.replace(/\n\(\d+\/\d+\)$/, '')).join('\n');
    expect(body(app)).toBe(text);
    expect(body(robot)).toBe(text);
    expect(fake.deliveries.some((d) => d.truncated)).toBe(false);
  });

  it('gives up on an unknown user with the reason, without retrying', async () => {
    const { fake, outbox } = await setup();
    await outbox.enqueue({ user: 'nobody' }, 'hello', 'text');
    await waitFor(async () => (await outbox.failed()).length === 1);
    expect((await outbox.failed())[0]!.reason).toMatch(/81013/);
    expect(fake.requests.filter((r) => r.path === '/cgi-bin/message/send')).toHaveLength(1);
  });

  it('keeps queued messages across a restart and sends them after it', async () => {
    const first = await setup();
    for (let i = 0; i < 35; i++) await first.outbox.enqueue({ user: 'lisi' }, `queued ${i}`, 'text');
    await waitFor(() => first.fake.deliveries.length >= 30);
    await first.outbox.stop();
    await first.db.close();
    await first.fake.stop();
    cleanup = [];
    expect(first.outbox.pending).toBe(5);

    // The new process shares the data dir: it must still respect the window the first one used up.
    const second = await setup({ dataDir: first.dataDir });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(second.fake.deliveries).toHaveLength(0);
    expect(second.outbox.pending).toBe(5);
  });

  it('rides out a WeCom outage of every kind and then delivers everything once, in order, giving nothing up', async () => {
    const givenUp: FailedEntry[] = [];
    const { fake, outbox } = await setup({ timeoutMs: 300, onGiveUp: (failed) => givenUp.push(failed) });
    const users = ['zhangsan', 'lisi'];
    const path = '/cgi-bin/message/send';
    fake.outage(path, { errcode: -1 });
    for (let i = 0; i < 20; i++) for (const user of users) await outbox.enqueue({ user }, `${user} ${i}`, 'text');
    const phases = [{ errcode: 45009 }, { http: 502 }, { hang: true as const }];
    for (const fault of phases) {
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      fake.outage(path, fault);
    }
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect(fake.deliveries).toHaveLength(0);
    fake.outage(path, undefined);
    await waitFor(() => outbox.pending === 0, 20_000);
    for (const user of users) expect(fake.shown(`user:${user}`).map((d) => d.content)).toEqual(Array.from({ length: 20 }, (_, i) => `${user} ${i}`));
    expect(fake.deliveries.every((d) => d.shown)).toBe(true);
    expect(givenUp).toEqual([]);
    expect(await outbox.failed()).toEqual([]);
  });

  it('gives up a message only past the horizon, and reports it', async () => {
    const givenUp: FailedEntry[] = [];
    const { fake, outbox } = await setup({ giveUpAfterMs: 500, onGiveUp: (failed) => givenUp.push(failed) });
    fake.outage('/cgi-bin/message/send', { errcode: -1 });
    await outbox.enqueue({ user: 'lisi' }, 'never through', 'text');
    await waitFor(() => givenUp.length === 1, 5_000);
    expect(givenUp[0]!.reason).toMatch(/errcode -1.*still failing/);
    expect(await outbox.failed()).toHaveLength(1);
    expect(fake.requests.filter((r) => r.path === '/cgi-bin/message/send').length).toBeGreaterThan(2);
  });

  it('shows every one of many identical replies, even a thousand messages apart', async () => {
    const limits = { user: [{ windowMs: 1000, max: 10_000 }], chat: RATE, robot: RATE };
    const { fake, outbox } = await setup({ limits, fake: { memberLimits: [{ windowMs: 1000, max: 10_000 }] } });
    for (let i = 0; i < 1_001; i++) await outbox.enqueue({ user: 'zhangsan' }, i % 1000 === 0 || i < 40 ? 'help' : `other ${i}`, 'text');
    await waitFor(() => outbox.pending === 0, 30_000);
    expect(fake.shown('user:zhangsan')).toHaveLength(1_001);
    expect(fake.deliveries.filter((d) => d.dropped === 'duplicate')).toEqual([]);
  });
});

const RATE = [{ windowMs: 1000, max: 10_000 }];
