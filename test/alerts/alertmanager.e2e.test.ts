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

  it('sends critical alerts at once, as a card the on-call claims, and updates the card as the group is claimed and resolved', async () => {
    const from = chat.seen('zhaoliu').length;
    const started = Date.now();
    const startsAt = now();
    const etcd = { labels: { alertname: 'EtcdNoLeader', app: 'etcd', severity: 'critical', instance: 'etcd-2' }, annotations: { summary: 'etcd member has no leader' } };
    await am.post([{ ...etcd, startsAt }]);
    const card = await chat.card('zhaoliu', from, 15_000);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(card.delivery.content).toMatch(/^🔴 EtcdNoLeader 触发（critical）/);
    const id = card.button_list![0]!.key.split(' ')[1]!;
    expect(card.button_list).toEqual([
      expect.objectContaining({ text: '认领', key: `claim ${id}` }),
      expect.objectContaining({ text: '静默 2 小时', key: 'silence alertname="EtcdNoLeader" app="etcd" 2h' }),
      expect.objectContaining({ text: '刷新', key: `alerts card ${id}` }),
    ]);
    expect(card.delivery.content).toContain(`[在 Alertmanager 中查看](${am.url})`);
    // zhangsan subscribes to criticals too: the same group's card.
    const other = await chat.card('zhangsan', 0, 15_000);

    // The on-call claims it from the card: the clicked card shows who took it (the click's own code), the other
    // recipient's card too (its send code), and alerts lists it with the time to acknowledge.
    await chat.click('zhaoliu', card, 0);
    await waitFor(() => card.delivery.updates === 1, 10_000, 'the clicked card was updated');
    expect(card.delivery.content).toMatch(/👤 zhaoliu 认领（/);
    expect(card.delivery.card!.button_list!.map((button) => button.text)).toEqual(['静默 2 小时', '刷新']);
    await waitFor(() => other.delivery.updates === 1, 10_000, "the other recipient's card was updated");
    expect(other.delivery.content).toMatch(/👤 zhaoliu 认领（/);
    expect(chat.seen('zhaoliu').slice(from).filter((text) => /已认领/.test(text))).toHaveLength(0);
    expect(await chat.ask('wangwu', 'alerts', /正在触发的告警/)).toMatch(new RegExp(`#${id} 🔥1 \\*\\*EtcdNoLeader\\*\\* · etcd · critical · .* · 👤 zhaoliu 认领`));
    expect(await chat.ask('lisi', `claim ${id}`, /已经由 zhaoliu 认领/)).toBeTruthy();
    expect(await chat.ask('zhangsan', `unclaim ${id}`, /只有认领人或有审批权限的人可以取消/)).toBeTruthy();
    expect(await chat.ask('zhaoliu', 'claim ffffff', /没有正在触发、编号为 ffffff 的告警组/)).toBeTruthy();

    // It resolves: the claimer's card says so in place, with who took it, by the code its send left unspent.
    await am.post([{ ...etcd, startsAt, endsAt: now() }]);
    await waitFor(() => card.delivery.updates === 2, 20_000, 'the card was updated on resolve');
    expect(card.delivery.content).toMatch(/^✅ EtcdNoLeader 已恢复/);
    expect(card.delivery.content).toMatch(/恢复：/);
    expect(card.delivery.content).toMatch(/👤 zhaoliu 认领（/);
    expect(card.delivery.card!.button_list!.map((button) => button.text)).toEqual(['刷新']);
    // The other card's send code went on the claim: WeCom allows no second update, so its 刷新 brings it up to date.
    expect(other.delivery.updates).toBe(1);
    const shownNow = other.delivery.card!;
    expect(shownNow.button_list!.at(-1)!.text).toBe('刷新');
    await chat.click('zhangsan', shownNow, shownNow.button_list!.length - 1);
    await waitFor(() => other.delivery.updates === 2, 10_000, 'the refreshed card');
    expect(other.delivery.content).toMatch(/^✅ EtcdNoLeader 已恢复/);
    // Claims typed in the chat; unclaim is the claimer's (or an approver's); the card can be asked for by its id.
    await am.post([{ labels: { alertname: 'ApiDown', app: 'gateway', severity: 'critical' }, startsAt: now() }]);
    let list = '';
    await waitFor(async () => /ApiDown/.test((list = await chat.ask('zhaoliu', 'alerts', /正在触发的告警/))), 15_000, 'ApiDown fires');
    const apiId = /#([0-9a-f]{6}) 🔥1 \*\*ApiDown\*\*/.exec(list)![1]!;
    expect(await chat.ask('zhaoliu', `claim #${apiId}`, /已认领/)).toMatch(/从触发到认领用时/);
    expect(await chat.ask('zhaoliu', `unclaim #${apiId}`, /已取消认领/)).toBeTruthy();
    const typed = await chat.ask('lisi', `alerts card ${apiId}`, /ApiDown/);
    expect(typed).toMatch(/尚无人认领/);
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
    expect(list).toMatch(/🔥1 \*\*ApiDown\*\* · gateway · critical/);
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
