import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { groupId } from '../../src/alerts/claims.js';
import { AlertEngine, IMMEDIATE_GAP_MS } from '../../src/alerts/engine.js';
import type { Webhook, WebhookAlert } from '../../src/alerts/payload.js';
import { OwnerDirectory, parseRoutes } from '../../src/alerts/routing.js';
import { Subscriptions } from '../../src/alerts/subscriptions.js';
import type { Reply } from '../../src/chat/reply.js';
import { loadConfig } from '../../src/config/load.js';
import { recipientKey, type Recipient } from '../../src/config/schema.js';
import type { SqlClient } from '../../src/store/sql.js';
import type { SendOptions } from '../../src/channel/port.js';
import { WecomChannel } from '../../src/wecom/channel.js';
import { renderMarkdown } from '../../src/wecom/render.js';
import { storeBackends, type StoreBackend } from '../helpers/backends.js';

const logger = pino({ level: 'silent' });
const WINDOW = 5 * 60_000;

/** The real WeCom channel's renderer and byte check; what it would send is kept here instead. */
class CapturingChannel {
  readonly sent: { to: string; text: string; reply: Reply; key?: string }[] = [];
  readonly #wecom = new WecomChannel(undefined as never, 'zh-CN', 'markdown');
  /** The store the engine under test writes: a message's alongside writes are committed here, as the outbox does. */
  sql: SqlClient | undefined;
  /** While set, sends wait for it (a slow store or outbox). */
  hold: Promise<void> | undefined;
  /** The recipient's room in its rate limits, as the outbox would say; undefined: no limit. */
  roomLeft: number | undefined;
  async send(to: Recipient, reply: Reply, options: SendOptions = {}) {
    await this.hold;
    if (options.key && this.sent.some((s) => s.key === options.key)) return;
    await this.sql!.batch(options.alongside ?? []);
    this.sent.push({ to: recipientKey(to), text: renderMarkdown(reply, 'zh-CN'), reply, key: options.key });
  }
  fits(to: Recipient, reply: Reply) {
    return this.#wecom.fits(to, reply);
  }
  room() {
    return this.roomLeft;
  }
  /** Cards are updated by the WeCom channel (tested end to end); nothing here keeps them. */
  async update() {}
  to(key: string) {
    return this.sent.filter((s) => s.to === key);
  }
}

function config(extra: Record<string, unknown> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'wekube-alerts-'));
  const file = join(dir, 'wekube.yaml');
  writeFileSync(
    file,
    stringify({
      environments: { test: { namespace: 'x' } },
      apps: { order: { image: 'r/order', owners: ['zhangsan'] } },
      alerts: {
        digestWindow: '5m',
        immediateSeverities: ['critical'],
        routes: [{ match: 'severity="critical"', to: { robot: 'oncall-robot' } }],
        employees: { '10086': 'wangwu' },
        ...extra,
      },
    }),
  );
  return { config: loadConfig({ file, env: {} }), dir };
}

let clock = 0;
let place: string;
let channel: CapturingChannel;
let subscriptions: Subscriptions;
let settings: ReturnType<typeof config>;

// The engine's contract on both backends: the embedded SQLite file and a real PostgreSQL server.
const backends = storeBackends('alerts');
let backend: StoreBackend;
const opened: { close(): Promise<void> }[] = [];
afterAll(async () => {
  for (const db of opened) await db.close().catch(() => {});
});

async function engine(extra?: Record<string, unknown>, options: { page?: (from: number, to: number, recipient: Recipient) => string } = {}) {
  settings ??= config(extra);
  const db = await backend.open(place);
  opened.push(db);
  channel.sql = db.sql;
  subscriptions = await Subscriptions.open(channel.sql);
  const owners = new OwnerDirectory(settings.config.alerts.employees, logger);
  return {
    db,
    engine: await AlertEngine.open(channel.sql, { config: settings.config, subscriptions, owners, routes: parseRoutes(settings.config), channel, logger, now: () => clock, ...options }),
  };
}

const alert = (n: number, overrides: Partial<WebhookAlert> & { labels?: Record<string, string> } = {}): WebhookAlert => ({
  status: 'firing',
  labels: { alertname: 'HighLatency', app: 'order', severity: 'warning', instance: `pod-${n}`, ...overrides.labels },
  annotations: { summary: `p99 latency is high on pod-${n}` },
  startsAt: '2026-11-24T10:00:00Z',
  generatorURL: '',
  fingerprint: `fp${n}`,
  ...overrides,
  ...(overrides.labels ? { labels: { alertname: 'HighLatency', app: 'order', severity: 'warning', instance: `pod-${n}`, ...overrides.labels } } : {}),
});

const webhook = (alerts: WebhookAlert[]): Webhook => ({
  version: '4',
  groupKey: 'g',
  truncatedAlerts: 0,
  status: alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
  receiver: 'wekube',
  groupLabels: {},
  commonLabels: {},
  commonAnnotations: {},
  externalURL: 'http://alertmanager.example:9093',
  alerts,
});

beforeEach(async () => {
  clock = Date.parse('2026-11-24T10:00:00Z');
  place = await backend.place();
  channel = new CapturingChannel();
  settings = undefined as never;
});

describe.each(backends)('the alert engine on $name', (current) => {
  beforeAll(() => {
    backend = current;
  });

  it('sends a batch whose flush never finished (its process died, or the database went away mid-flush) once the claim is stale', async () => {
    const { engine: e } = await engine();
    await e.ingest(webhook([alert(1)]));
    clock += WINDOW;
    // A flush claimed the due batch and was never heard of again.
    await channel.sql!.run('UPDATE alert_batches SET flushing = ?', [clock]);
    await e.tick();
    expect(channel.to('user:zhangsan')).toHaveLength(0);
    clock += 10_001;
    await e.tick();
    expect(channel.to('user:zhangsan')).toHaveLength(1);
    expect(channel.to('user:zhangsan')[0]!.text).toMatch(/告警摘要：1 条触发/);
  });

  it('links a batch to the page of what was seen in its window, which reads those alerts as they are now', async () => {
    const { engine: e } = await engine(undefined, { page: (from, to, recipient) => `https://wekube.example/view/alerts?from=${from}&to=${to}&for=${recipientKey(recipient)}` });
    await e.ingest(webhook([alert(9)]));
    clock += WINDOW;
    await e.tick();
    clock += 60_000;
    const opened = clock;
    await e.ingest(webhook([alert(1), alert(2)]));
    clock += WINDOW;
    await e.tick();
    const [, digest] = channel.to('user:zhangsan');
    expect(digest!.text).toContain(`[查看全部告警（时间线、筛选）](https://wekube.example/view/alerts?from=${opened}&to=${clock}&for=user:zhangsan)`);
    const flushed = clock;
    clock += 60_000;
    await e.ingest(webhook([alert(1, { status: 'resolved', endsAt: new Date(clock).toISOString() }), alert(2)]));
    // Alert 9, last seen before the window, is not in it; alert 1 is, resolved now.
    const { alerts, more } = await e.seenBetween(opened, flushed, 100);
    expect(alerts.map((a) => [a.fingerprint, a.status])).toEqual([['fp1', 'resolved'], ['fp2', 'firing']]);
    expect(more).toBe(false);
    expect((await e.seenBetween(opened, flushed, 1)).more).toBe(true);
  });

  it('counts the groups firing now, within an environment too, also for alerts stored before the counts had columns', async () => {
    const { engine: e } = await engine();
    await e.ingest(
      webhook([
        alert(1, { labels: { env: 'prod' } }),
        alert(2, { labels: { env: 'test' } }),
        alert(3),
        alert(4, { labels: { alertname: 'DiskFull', environment: 'prod' }, startsAt: '2026-11-24T09:00:00Z' }),
      ]),
    );
    clock += 60_000;
    await e.ingest(webhook([alert(2, { status: 'resolved', labels: { env: 'test' }, endsAt: new Date(clock).toISOString() })]));
    const latency = groupId('HighLatency', 'order');
    const disk = groupId('DiskFull', 'order');
    const [ten, nine] = [Date.parse('2026-11-24T10:00:00Z'), Date.parse('2026-11-24T09:00:00Z')];
    const counted = async (of: AlertEngine) => [await of.firingGroups(), await of.firingGroups({ environment: 'prod' }), await of.firingGroups({ environment: 'test' }), await of.firingGroups({ group: disk })];
    const expected = [
      [{ id: latency, count: 2, since: ten }, { id: disk, count: 1, since: nine }],
      // An alert that names no environment counts in every one.
      [{ id: latency, count: 2, since: ten }, { id: disk, count: 1, since: nine }],
      [{ id: latency, count: 1, since: ten }],
      [{ id: disk, count: 1, since: nine }],
    ];
    expect(await counted(e)).toEqual(expected);
    expect((await e.firingSample({ group: disk }))?.labels).toMatchObject({ alertname: 'DiskFull', environment: 'prod' });
    expect(await e.firingSample({ group: disk, environment: 'test' })).toBeUndefined();
    // Rows an older wekube stored have none of the columns: the engine fills them in when it opens.
    await channel.sql!.run('UPDATE alerts SET group_id = NULL, env = NULL, since = NULL');
    const { engine: upgraded } = await engine();
    expect(await counted(upgraded)).toEqual(expected);
  });

  it('holds non-urgent alerts in the digest until its window ends, then sends one message', async () => {
    const { engine: e } = await engine();
    await e.ingest(webhook([alert(1), alert(2)]));
    clock += 60_000;
    await e.ingest(webhook([alert(1), alert(2), alert(3)]));
    await e.tick();
    expect(channel.to('user:zhangsan')).toHaveLength(0);
    clock += WINDOW - 60_000;
    await e.tick();
    const [digest] = channel.to('user:zhangsan');
    expect(channel.to('user:zhangsan')).toHaveLength(1);
    expect(digest!.text).toMatch(/告警摘要：3 条触发，0 条恢复/);
    expect(digest!.text).toMatch(/🔥3 \*\*HighLatency\*\* · order · warning · 18:00–18:01/);
    expect(digest!.text).toContain('[在 Alertmanager 中查看](http://alertmanager.example:9093)');
    expect(digest!.text).toContain('silence alertname="HighLatency" app="order" 2h');
  });

  it('sends urgent alerts at once, to their static route too, and merges a burst of them', async () => {
    const { engine: e } = await engine();
    await e.ingest(webhook([alert(1, { labels: { severity: 'critical', alertname: 'EtcdNoLeader', app: '' } })]));
    await e.tick();
    expect(channel.to('robot:oncall-robot')).toHaveLength(1);
    expect(channel.to('robot:oncall-robot')[0]!.text).toMatch(/🔴 EtcdNoLeader 触发（critical）/);
    // Nobody can answer in a robot's group: no button, no "reply …" hint pointing there.
    expect(channel.to('robot:oncall-robot')[0]!.reply.actions).toBeUndefined();
    expect(channel.to('robot:oncall-robot')[0]!.text).not.toMatch(/回复|发送/);
    clock += 1000;
    for (let i = 2; i < 6; i++) await e.ingest(webhook([alert(i, { labels: { severity: 'critical', alertname: 'EtcdNoLeader' } })]));
    await e.tick();
    expect(channel.to('robot:oncall-robot')).toHaveLength(1);
    clock += IMMEDIATE_GAP_MS;
    await e.tick();
    expect(channel.to('robot:oncall-robot')).toHaveLength(2);
    expect(channel.to('robot:oncall-robot')[1]!.text).toMatch(/紧急告警：4 条触发，0 条恢复/);
  });

  it('keeps urgent messages to a recipient 10 s apart even when an alert comes while the last one is still being queued', async () => {
    const { engine: e } = await engine();
    const critical = (n: number) => alert(n, { labels: { severity: 'critical', alertname: 'EtcdNoLeader' } });
    await e.ingest(webhook([critical(1)]));
    let release!: () => void;
    channel.hold = new Promise((resolve) => (release = resolve));
    const flushing = e.tick();
    await new Promise((resolve) => setTimeout(resolve, 50));
    // The flush has claimed the first batch and is queueing its message: this alert opens the next batch.
    clock += 1_000;
    await e.ingest(webhook([critical(2)]));
    release();
    await flushing;
    channel.hold = undefined;
    expect(channel.to('user:zhangsan')).toHaveLength(1);
    await e.tick();
    expect(channel.to('user:zhangsan')).toHaveLength(1);
    clock += IMMEDIATE_GAP_MS - 1_000;
    await e.tick();
    expect(channel.to('user:zhangsan')).toHaveLength(2);
  });

  it('tells each recipient of each firing and each resolve once, whatever Alertmanager repeats', async () => {
    const { engine: e } = await engine();
    await subscriptions.add('lisi', 'alertname=HighLatency', new Date(clock));
    const group = [alert(1), alert(2)];
    await e.ingest(webhook(group));
    await e.ingest(webhook(group)); // an HA peer
    clock += 30_000;
    await e.ingest(webhook(group)); // group_interval re-send
    clock += WINDOW;
    await e.tick();
    expect(channel.to('user:lisi').map((s) => s.text)).toEqual([expect.stringMatching(/2 条触发，0 条恢复/)]);

    // lisi unsubscribes; the resolve still goes to those who were told of the firing, once.
    await subscriptions.remove('lisi', 'all');
    const resolved = group.map((a) => ({ ...a, status: 'resolved' as const, endsAt: '2026-11-24T10:10:00Z' }));
    await e.ingest(webhook(resolved));
    await e.ingest(webhook(resolved));
    // A late firing duplicate from a peer that had not heard of the resolve changes nothing.
    await e.ingest(webhook([alert(1)]));
    clock += WINDOW;
    await e.tick();
    expect(channel.to('user:lisi').map((s) => s.text)).toEqual([expect.stringMatching(/2 条触发/), expect.stringMatching(/0 条触发，2 条恢复/)]);
    expect(channel.to('user:zhangsan')).toHaveLength(2);
  });

  it('announces a resolved urgent alert as resolved, at once', async () => {
    const { engine: e } = await engine();
    const critical = alert(9, { labels: { severity: 'critical', alertname: 'EtcdNoLeader', app: '' } });
    await e.ingest(webhook([critical]));
    await e.tick();
    clock += IMMEDIATE_GAP_MS;
    await e.ingest(webhook([{ ...critical, status: 'resolved', endsAt: '2026-11-24T10:05:00Z' }]));
    await e.tick();
    expect(channel.to('robot:oncall-robot').map((s) => s.text)).toEqual([expect.stringMatching(/EtcdNoLeader 触发/), expect.stringMatching(/✅ EtcdNoLeader 已恢复/)]);
  });

  it('keeps pending digests across a restart and sends them when their window ends', async () => {
    const first = await engine();
    await first.engine.ingest(webhook([alert(1)]));
    await first.db.close();
    clock += WINDOW;
    const second = await engine();
    await second.engine.tick();
    expect(channel.to('user:zhangsan')).toHaveLength(1);
    // The batch is gone: the next tick sends nothing more.
    await second.engine.tick();
    expect(channel.to('user:zhangsan')).toHaveLength(1);
  });

  it('names every group of a digest too big for one message in compact lines over continuation messages, worst severity first', async () => {
    const { engine: e } = await engine();
    await subscriptions.add('zhangsan', 'alertname=~"Alert.*"', new Date(clock));
    // 60 alert names × 10 apps, two alerts per group; one name in 10 is of severity "high".
    const many = Array.from({ length: 1200 }, (_, i) => alert(i, { labels: { alertname: `Alert${i % 60}`, app: `app${Math.floor(i / 60) % 10}`, severity: i % 60 % 10 === 0 ? 'high' : 'warning' } }));
    await e.ingest(webhook(many));
    clock += WINDOW;
    await e.tick();
    const pages = channel.to('user:zhangsan').map((sent) => sent.text);
    expect(pages.length).toBeGreaterThan(1);
    expect(pages.length).toBeLessThanOrEqual(10);
    pages.forEach((page, i) => {
      expect(Buffer.byteLength(JSON.stringify(page)) - 2).toBeLessThanOrEqual(2048);
      expect(page).toContain(`(${i + 1}/${pages.length})`);
    });
    expect(pages[0]).toMatch(/告警摘要：1200 条触发/);
    expect(pages[1]).toMatch(/告警摘要（续）/);
    expect(pages.at(-1)).toContain('[在 Alertmanager 中查看](http://alertmanager.example:9093)');
    // Every alert name on a line with each of its apps and their counts.
    const all = pages.join('\n');
    for (let name = 0; name < 60; name++) {
      const line = new RegExp(`🔥 \\*\\*Alert${name}\\*\\* ×20 — (.*)`).exec(all);
      expect(line, `Alert${name}`).not.toBeNull();
      expect(line![1]!.split(' · ').sort()).toEqual(Array.from({ length: 10 }, (_, app) => `app${app} 2`).sort());
    }
    expect(all).not.toMatch(/未列出/);
    // The "high" section, and every name in it, comes before the "warning" one.
    expect(all.indexOf('**🔥 high**')).toBeGreaterThan(0);
    expect(all.indexOf('**🔥 high**')).toBeLessThan(all.indexOf('**🔥 warning**'));
    const order = [...all.matchAll(/🔥 \*\*Alert(\d+)\*\*/g)].map((m) => Number(m[1]) % 10 === 0);
    expect(order.lastIndexOf(true)).toBeLessThan(order.indexOf(false));
  });

  it('sends a storm\'s digest once the burst pauses instead of at the end of its window, and its resolves by group the same way', async () => {
    const { engine: e } = await engine();
    await subscriptions.add('zhangsan', 'alertname=~"Alert.*"', new Date(clock));
    const storm = Array.from({ length: 300 }, (_, i) => alert(i, { labels: { alertname: `Alert${i % 30}`, app: `app${Math.floor(i / 30) % 10}` } }));
    await e.ingest(webhook(storm.slice(0, 150)));
    clock += 1_000;
    await e.ingest(webhook(storm.slice(150)));
    clock += 1_000;
    await e.tick();
    expect(channel.to('user:zhangsan')).toHaveLength(0);
    clock += 600;
    await e.tick();
    const firing = channel.to('user:zhangsan').map((sent) => sent.text).join('\n');
    expect(firing).toMatch(/告警摘要：300 条触发/);
    // A minute later 40% resolve, in a burst: every resolved group is named with its count.
    const before = channel.to('user:zhangsan').length;
    clock += 60_000;
    await e.ingest(webhook(storm.slice(0, 120).map((a) => ({ ...a, status: 'resolved' as const, endsAt: '2026-11-24T10:01:00Z' }))));
    clock += 1_600;
    await e.tick();
    const resolved = channel.to('user:zhangsan').slice(before).map((sent) => sent.text).join('\n');
    expect(resolved).toMatch(/告警摘要：0 条触发，120 条恢复/);
    // Alert i is name i % 30 on app floor(i / 30): the first 120 are apps 0-3 of every name.
    for (let name = 0; name < 30; name++) expect(resolved).toMatch(new RegExp(`✅ \\*\\*Alert${name}\\*\\* ×4 — app0 1 · app1 1 · app2 1 · app3 1$`, 'm'));
  });

  it('keeps to the recipient\'s room in its rate limits and counts what did not fit, critical first', async () => {
    const { engine: e } = await engine();
    channel.roomLeft = 2;
    await subscriptions.add('zhangsan', 'alertname=~"Alert.*"', new Date(clock));
    const many = Array.from({ length: 1200 }, (_, i) => alert(i, { labels: { alertname: `Alert${i % 60}`, app: `app${Math.floor(i / 60) % 10}` } }));
    await e.ingest(webhook(many));
    clock += WINDOW;
    await e.tick();
    const pages = channel.to('user:zhangsan').map((sent) => sent.text);
    expect(pages).toHaveLength(2);
    const all = pages.join('\n');
    const named = [...all.matchAll(/🔥 \*\*Alert\d+\*\* (?:×20|…) — (.*)/g)].reduce((sum, m) => sum + m[1]!.split(' · ').length, 0);
    const omitted = /另有 (\d+) 组共 (\d+) 条告警未列出/.exec(pages[1]!)!;
    expect(named + Number(omitted[1])).toBe(600);
    expect(named * 2 + Number(omitted[2])).toBe(1200);
  });

  it('routes to subscribers, owners of the app, and the owner label (userid or employee number)', async () => {
    const { engine: e } = await engine();
    await subscriptions.add('lisi', 'severity=~"warning|critical" app!=order', new Date(clock));
    await e.ingest(webhook([
      alert(1, { labels: { app: 'payment', owner: '10086' } }),
      alert(2, { labels: { app: 'order' } }),
      alert(3, { labels: { app: 'search', owner: 'ZhaoLiu' } }),
    ]));
    clock += WINDOW;
    await e.tick();
    const counts = Object.fromEntries(['user:lisi', 'user:zhangsan', 'user:wangwu', 'user:zhaoliu'].map((k) => [k, /(\d+) 条触发/.exec(channel.to(k)[0]?.text ?? '')?.[1]]));
    expect(counts).toEqual({ 'user:lisi': '2', 'user:zhangsan': '1', 'user:wangwu': '1', 'user:zhaoliu': '1' });
  });

  it('tells again of an alert still firing after the repeat interval, when one is set', async () => {
    const { engine: e } = await engine({ repeatInterval: '1h' });
    await e.ingest(webhook([alert(1)]));
    clock += WINDOW;
    await e.tick();
    clock += 30 * 60_000;
    await e.ingest(webhook([alert(1)]));
    clock += WINDOW;
    await e.tick();
    expect(channel.to('user:zhangsan')).toHaveLength(1);
    clock += 30 * 60_000;
    await e.ingest(webhook([alert(1)]));
    clock += WINDOW;
    await e.tick();
    expect(channel.to('user:zhangsan')).toHaveLength(2);
  });
});
