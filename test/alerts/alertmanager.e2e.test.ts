import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAlertmanager, type RunningAlertmanager } from '../helpers/alertmanager.js';
import { freePort } from '../helpers/ports.js';
import { Conversation, startBot, type TestBot } from '../helpers/bot.js';
import { waitFor } from '../helpers/wait.js';

// The real Alertmanager (Debian's prometheus-alertmanager) sends its webhooks to wekube; alerts go in through
// Alertmanager's own API, as Prometheus posts them. Digest window 2s here; group_wait and group_interval 1s.

const TOKEN = 'am-webhook-token-1234';
let am: RunningAlertmanager;
let bot: TestBot;
let chat: Conversation;

beforeAll(async () => {
  const port = await freePort();
  am = await startAlertmanager({ webhookUrl: `http://127.0.0.1:${port}/alerts/alertmanager`, token: TOKEN });
  bot = await startBot({
    extra: {
      server: { port, host: '127.0.0.1' },
      alerts: {
        webhookToken: TOKEN,
        digestWindow: '2s',
        immediateSeverities: ['critical'],
        alertmanagerUrl: am.url,
        routes: [{ match: 'severity="critical"', to: { user: 'zhaoliu' } }],
      },
    },
  });
  chat = new Conversation(bot);
  await chat.ask('lisi', 'subscribe app=order', /已订阅 #1：app=order/);
  await chat.ask('zhangsan', '订阅 severity=~"warning|critical" app!=order', /已订阅 #2：severity=~"warning\|critical" app!=order/);
});

afterAll(async () => {
  await bot?.stop();
  await am?.stop();
});

const now = () => new Date().toISOString();

describe('alerts from the real Alertmanager', () => {
  it('merges warnings into one digest per recipient when the window ends', async () => {
    const from = chat.seen('lisi').length;
    await am.post([
      { labels: { alertname: 'HighLatency', app: 'order', severity: 'warning', instance: 'pod-1' }, annotations: { summary: 'p99 over 2s' }, startsAt: now() },
      { labels: { alertname: 'HighLatency', app: 'order', severity: 'warning', instance: 'pod-2' }, annotations: { summary: 'p99 over 2s' }, startsAt: now() },
      { labels: { alertname: 'ErrorRate', app: 'order', severity: 'warning', instance: 'pod-1' }, startsAt: now() },
    ]);
    const digest = await chat.expect('lisi', /告警摘要：3 条触发，0 条恢复/, from, 15_000);
    expect(digest).toMatch(/🔥2 \*\*HighLatency\*\* · order · warning/);
    expect(digest).toMatch(/🔥1 \*\*ErrorRate\*\* · order · warning/);
    expect(digest).toMatch(/pod-1: p99 over 2s/);
    expect(digest).toContain(`](${am.url})`);
    // Alertmanager re-sends the group every group_interval: nobody hears of these alerts again.
    await new Promise((resolve) => setTimeout(resolve, 4000));
    expect(chat.seen('lisi').slice(from).filter((text) => text.includes('告警摘要'))).toHaveLength(1);
    expect(chat.seen('zhangsan').some((text) => text.includes('HighLatency'))).toBe(false);
  });

  it('sends critical alerts at once, as a card with a one-tap silence, to routes and subscribers', async () => {
    const from = chat.seen('zhaoliu').length;
    const started = Date.now();
    await am.post([{ labels: { alertname: 'EtcdNoLeader', app: 'etcd', severity: 'critical', instance: 'etcd-2' }, annotations: { summary: 'etcd member has no leader' }, startsAt: now() }]);
    const card = await chat.card('zhaoliu', from, 15_000);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(card.delivery.content).toMatch(/^🔴 EtcdNoLeader 触发（critical）/);
    expect(card.button_list).toEqual([
      expect.objectContaining({ text: '认领', key: expect.stringMatching(/^claim [0-9a-f]{6}$/) }),
      expect.objectContaining({ text: '静默 2 小时', key: 'silence alertname="EtcdNoLeader" app="etcd" 2h' }),
    ]);
    await chat.expect('zhangsan', /EtcdNoLeader 触发/, 0, 15_000);

    // The on-call claims it from the card: the card shows it, alerts shows who and how long it took, others are told.
    const id = card.button_list![0]!.key.split(' ')[1]!;
    await chat.click('zhaoliu', card, 0);
    await chat.expect('zhaoliu', new RegExp(`已认领 #${id} EtcdNoLeader · etcd，从触发到认领用时`), from);
    expect(card.delivery.replacedWith).toBe('已认领');
    expect(await chat.ask('wangwu', 'alerts', /正在触发的告警/)).toMatch(new RegExp(`#${id} 🔥1 \\*\\*EtcdNoLeader\\*\\* · etcd · critical · .* · 👤 zhaoliu 认领`));
    expect(await chat.ask('lisi', `claim ${id}`, /已经由 zhaoliu 认领/)).toBeTruthy();
    expect(await chat.ask('zhangsan', `unclaim ${id}`, /只有认领人或有审批权限的人可以取消/)).toBeTruthy();
    expect(await chat.ask('zhaoliu', `unclaim #${id}`, /已取消认领/)).toBeTruthy();
    expect(await chat.ask('zhaoliu', 'claim ffffff', /没有正在触发、编号为 ffffff 的告警组/)).toBeTruthy();
  });

  it('reports resolves to those who heard of the firing', async () => {
    const from = chat.seen('lisi').length;
    await am.post([
      { labels: { alertname: 'HighLatency', app: 'order', severity: 'warning', instance: 'pod-1' }, annotations: { summary: 'p99 over 2s' }, endsAt: now() },
      { labels: { alertname: 'HighLatency', app: 'order', severity: 'warning', instance: 'pod-2' }, annotations: { summary: 'p99 over 2s' }, endsAt: now() },
    ]);
    const digest = await chat.expect('lisi', /告警摘要：0 条触发，2 条恢复/, from, 15_000);
    expect(digest).toMatch(/✅2 \*\*HighLatency\*\*/);
  });

  it('lists what is firing now: every environment without @env, one environment with it', async () => {
    // A prod alert (nobody subscribes to app=pay) must show without @env, whatever the default environment is.
    await am.post([{ labels: { alertname: 'PayDown', app: 'pay', severity: 'warning', env: 'prod' }, startsAt: now() }]);
    // Alertmanager forwards it after its group wait: ask until it is there.
    let list = '';
    for (let attempt = 0; attempt < 20 && !/PayDown/.test(list); attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 500));
      list = await chat.ask('wangwu', 'alerts', /正在触发的告警/);
    }
    expect(list).toMatch(/正在触发的告警：3 条（所有环境）/);
    expect(list).toMatch(/🔥1 \*\*EtcdNoLeader\*\* · etcd · critical/);
    expect(list).toMatch(/🔥1 \*\*ErrorRate\*\* · order · warning/);
    expect(list).toMatch(/PayDown/);
    expect(await chat.ask('wangwu', 'alerts @test', /正在触发的告警：2 条（test）/)).not.toMatch(/PayDown/);
  });

  it('silences from chat, with the WeCom user as creator, and Alertmanager enforces it', async () => {
    const reply = await chat.ask('lisi', 'silence alertname=DiskFull app=order 1h 演练期间', /已静默 alertname=DiskFull app=order，时长 1h/);
    const id = /ID：([0-9a-f-]{36})/.exec(reply)![1]!;
    const silences = await am.get<{ id: string; createdBy: string; comment: string; matchers: { name: string; value: string }[]; status: { state: string } }[]>('/api/v2/silences');
    expect(silences.find((s) => s.id === id)).toMatchObject({ createdBy: 'lisi', comment: '演练期间', status: { state: 'active' }, matchers: [expect.objectContaining({ name: 'alertname', value: 'DiskFull' }), expect.objectContaining({ name: 'app', value: 'order' })] });

    const from = chat.seen('lisi').length;
    await am.post([{ labels: { alertname: 'DiskFull', app: 'order', severity: 'warning', instance: 'node-1' }, startsAt: now() }]);
    await waitFor(async () => {
      const alerts = await am.get<{ labels: Record<string, string>; status: { state: string; silencedBy: string[] } }[]>('/api/v2/alerts?filter=alertname%3D%22DiskFull%22');
      return alerts.length === 1 && alerts[0]!.status.state === 'suppressed' && alerts[0]!.status.silencedBy.includes(id);
    }, 10_000, 'the alert suppressed by the silence');
    await new Promise((resolve) => setTimeout(resolve, 4000));
    expect(chat.seen('lisi').slice(from).some((text) => text.includes('DiskFull'))).toBe(false);

    const list = await chat.ask('lisi', 'silences', /1 个静默/);
    expect(list).toContain(`${id.slice(0, 8)} alertname="DiskFull" app="order" · lisi`);
    await chat.ask('lisi', `unsilence ${id.slice(0, 8)}`, new RegExp(`静默 ${id.slice(0, 8)} 已失效`));
    await waitFor(async () => (await am.get<{ id: string; status: { state: string } }[]>('/api/v2/silences')).find((s) => s.id === id)?.status.state === 'expired', 5000, 'the silence expired');
  });

  it('answers bad silences and subscriptions with what to type', async () => {
    await chat.ask('lisi', 'silence alertname=X', /用法：silence <匹配条件> <时长> \[备注\]/);
    await chat.ask('lisi', 'silence app==x 2h', /看不懂匹配条件“app==x”/);
    await chat.ask('lisi', 'subscribe severity=~"(" ', /正则表达式不合法/);
    await chat.ask('lisi', 'unsubscribe 99', /你没有编号为 99 的订阅/);
    const mine = await chat.ask('lisi', 'subscribe', /我的告警订阅/);
    expect(mine).toMatch(/#1 app=order/);
  });
});
