import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Conversation, startBot, type TestBot } from '../helpers/bot.js';
import { waitFor } from '../helpers/wait.js';

// Employee numbers (工号) map to WeCom userids through config, and each userid is checked with WeCom's user/get:
// an alert owned by someone WeCom does not know goes to nobody in their name (and is logged).

let bot: TestBot;
beforeAll(async () => {
  bot = await startBot({ extra: { alerts: { digestWindow: '1s', employees: { '10086': 'wangwu', '10010': 'ghost' } } } });
});
afterAll(async () => {
  await bot.stop();
});

const webhook = (owner: string, fingerprint: string) =>
  JSON.stringify({
    version: '4',
    status: 'firing',
    receiver: 'wekube',
    groupKey: 'g',
    externalURL: '',
    alerts: [{ status: 'firing', labels: { alertname: 'QueueBacklog', owner, severity: 'warning' }, annotations: {}, startsAt: new Date().toISOString(), fingerprint }],
  });

describe('owners named by employee number', () => {
  it('checks the mapped userids with user/get and routes only to the ones WeCom knows', async () => {
    await waitFor(() => bot.fake.requests.filter((r) => r.path === '/cgi-bin/user/get').length >= 2, 5000, 'the start-up check of alerts.employees');
    for (const [owner, fingerprint] of [['10086', 'a1'], ['10010', 'a2'], ['ZhangSan', 'a3']]) {
      expect((await fetch(`${bot.wekube.url}/alerts/alertmanager`, { method: 'POST', body: webhook(owner!, fingerprint!) })).status).toBe(200);
    }
    const chat = new Conversation(bot);
    await chat.expect('wangwu', /告警摘要：1 条触发[\s\S]*QueueBacklog/, 0, 10_000);
    await chat.expect('zhangsan', /告警摘要：1 条触发[\s\S]*QueueBacklog/, 0, 10_000);
    expect(bot.fake.deliveries.some((d) => d.to === 'user:ghost')).toBe(false);
    expect(bot.fake.requests.filter((r) => r.path === '/cgi-bin/message/send' && r.errcode !== 0)).toEqual([]);
  });
});
