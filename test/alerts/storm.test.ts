import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Conversation, startBot, type TestBot } from '../helpers/bot.js';
import { waitFor } from '../helpers/wait.js';
import { STORM_ALERT_ROUTES, stormAlerts, stormWebhooks } from '../helpers/storm.js';

// 20,000 alerts in webhooks of 100, as an outage can produce: every alert accounted for in what recipients
// receive, nobody over WeCom's rate limits, no message over its byte limit.

let bot: TestBot;
beforeAll(async () => {
  bot = await startBot({
    fake: { robots: ['storm-robot'], chats: ['opschat'] },
    extra: {
      alerts: {
        digestWindow: '3s',
        immediateSeverities: ['critical'],
        routes: STORM_ALERT_ROUTES,
      },
    },
  });
  const chat = new Conversation(bot);
  await chat.ask('lisi', 'subscribe severity=~"warning|critical"', /已订阅/);
  await chat.ask('zhangsan', 'subscribe app=app-3', /已订阅/);
});
afterAll(async () => {
  await bot.stop();
});

/** Alerts a message accounts for: digests and batches say how many fired, a single urgent alert is one. */
const fired = (text: string) => Number(/(\d+) 条触发/.exec(text)?.[1] ?? (/🔴 \S+ 触发/.test(text) ? 1 : 0));

describe('an alert storm', () => {
  it('accounts for all 20,000 alerts within WeCom\'s limits', { timeout: 300_000 }, async () => {
    const alerts = stormAlerts(20_000);
    const webhooks = stormWebhooks(alerts, 100);
    let next = 0;
    const statuses: number[] = [];
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < webhooks.length) {
          const body = webhooks[next++]!;
          const response = await fetch(`${bot.wekube.url}/alerts/alertmanager`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
          statuses.push(response.status);
        }
      }),
    );
    expect(statuses.filter((status) => status !== 200)).toEqual([]);

    const pending = async () => {
      const metrics = await (await fetch(`${bot.wekube.url}/metrics`)).text();
      return Number(/wekube_alert_batches_pending (\d+)/.exec(metrics)![1]) + Number(/wekube_outbox_pending (\d+)/.exec(metrics)![1]);
    };
    await waitFor(async () => (await pending()) === 0, 240_000, 'every batch sent');

    const expected = {
      'user:lisi': alerts.length,
      'user:zhangsan': alerts.filter((a) => a.labels.app === 'app-3').length,
      'robot:storm-robot': alerts.filter((a) => a.labels.severity === 'critical').length,
      'chat:opschat': alerts.filter((a) => a.labels.app === 'app-7').length,
    };
    for (const [recipient, count] of Object.entries(expected)) {
      const messages = bot.fake.shown(recipient);
      expect(messages.reduce((sum, message) => sum + fired(message.content), 0), recipient).toBe(count);
    }
    expect(bot.fake.deliveries.filter((d) => !d.shown)).toEqual([]);
    expect(bot.fake.requests.filter((r) => r.errcode !== undefined && r.errcode !== 0)).toEqual([]);
    for (const delivery of bot.fake.deliveries) {
      expect(delivery.truncated).toBeFalsy();
      expect(delivery.bytes).toBeLessThanOrEqual(delivery.to.startsWith('robot:') ? 4096 : 2048);
    }
  });
});
