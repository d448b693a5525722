import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Conversation, startBot, type TestBot } from '../helpers/bot.js';
import { startPostgres, type RunningPostgres } from '../helpers/postgres.js';
import { waitFor } from '../helpers/wait.js';

// wekube with its state in a real PostgreSQL server (WEKUBE_DATABASE_URL's key): callbacks, subscriptions and
// digests work as on the embedded store, the state outlives the process and its data dir, and /readyz answers by
// the database's health.

let postgres: RunningPostgres;
let url: string;
const bots: TestBot[] = [];

beforeAll(async () => {
  postgres = await startPostgres();
  url = await postgres.database('bot');
}, 60_000);

afterAll(async () => {
  for (const bot of bots) await bot.stop().catch(() => {});
  await postgres?.stop();
});

async function bot(database = url): Promise<TestBot> {
  // A fresh data dir each time: nothing may live there.
  const started = await startBot({ dataDir: mkdtempSync(join(tmpdir(), 'wekube-pgbot-')), extra: { store: { postgres: { url: database } }, alerts: { digestWindow: '1s' } } });
  bots.push(started);
  return started;
}

const webhook = (fingerprint: string) =>
  JSON.stringify({ version: '4', groupKey: 'g', status: 'firing', receiver: 'wekube', groupLabels: {}, commonLabels: {}, commonAnnotations: {}, externalURL: 'http://alertmanager:9093', alerts: [{ status: 'firing', labels: { alertname: 'HighLatency', app: 'order', severity: 'warning' }, annotations: {}, startsAt: new Date().toISOString(), generatorURL: '', fingerprint }] });

describe('wekube on PostgreSQL', () => {
  it('keeps its state in the database: a subscription made before a restart routes an alert after it', async () => {
    const first = await bot();
    const chat = new Conversation(first);
    await chat.ask('lisi', 'subscribe app=order', /已订阅 #1：app=order/);
    expect(await (await fetch(`${first.wekube.url}/readyz`)).json()).toMatchObject({ ready: true, checks: { store: { ok: true, detail: expect.stringMatching(/^postgres:\/\/127\.0\.0\.1:\d+\/bot_\d+$/) } } });
    await first.stop();

    const second = await bot();
    const again = new Conversation(second);
    expect(await again.ask('lisi', 'subscribe', /我的告警订阅/)).toContain('app=order');
    const response = await fetch(`${second.wekube.url}/alerts/alertmanager`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: webhook('pg-1') });
    expect(response.status).toBe(200);
    await again.expect('lisi', /告警摘要：1 条触发/, 0, 15_000);
  });

  it('acknowledges nothing it cannot store while the database is away, loses nothing it acknowledged, and comes back by itself', async () => {
    // A database of its own: the bots of the test above would lead it and send through their own fake WeCom.
    const running = await bot(await postgres.database('outage'));
    const chat = new Conversation(running);
    await chat.ask('lisi', 'subscribe app=order', /已订阅/);
    // Acknowledged just before the database goes: it must still reach its digest.
    expect((await fetch(`${running.wekube.url}/alerts/alertmanager`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: webhook('pg-before') })).status).toBe(200);
    const whoami = running.sender.text('zhangsan', 'whoami');
    await postgres.pause();
    try {
      await waitFor(async () => (await fetch(`${running.wekube.url}/readyz`)).status === 503, 10_000, '/readyz says the store is down');
      const refused = await fetch(`${running.wekube.url}/alerts/alertmanager`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: webhook('pg-2') });
      expect(refused.status).toBe(503); // Alertmanager sends it again
      // WeCom's callback is not acknowledged either, so WeCom tries again.
      expect((await running.sender.deliver(whoami, false)).status).toBe(503);
    } finally {
      await postgres.start();
    }
    await waitFor(async () => (await fetch(`${running.wekube.url}/readyz`)).status === 200, 20_000, '/readyz recovers');
    const accepted = await fetch(`${running.wekube.url}/alerts/alertmanager`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: webhook('pg-2') });
    expect(accepted.status).toBe(200);
    // WeCom's retry of the refused callback: now stored, run, answered once.
    expect((await running.sender.deliver(whoami, false)).status).toBe(200);
    await chat.expect('zhangsan', /我是谁/, 0, 15_000);
    // The alert acked before the outage and the one retried after it: each in a digest, once.
    const fired = () => chat.seen('lisi').reduce((sum, content) => sum + Number(/(\d+) 条触发/.exec(content)?.[1] ?? 0), 0);
    await waitFor(() => fired() >= 2, 30_000, 'both alerts in digests');
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(fired()).toBe(2);
    expect(chat.seen('zhangsan').filter((content) => /我是谁/.test(content))).toHaveLength(1);
  }, 90_000);
});
