import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { startAlertmanager, type RunningAlertmanager } from '../helpers/alertmanager.js';
import { Conversation, startBot, type TestBot } from '../helpers/bot.js';
import { smallDisk, type SmallDisk } from '../helpers/small-disk.js';
import { waitFor } from '../helpers/wait.js';

// The data dir on a small real filesystem that the test fills and frees while alerts and callbacks arrive.

let disk: SmallDisk;
let bot: TestBot;
let alertmanager: RunningAlertmanager;
afterAll(async () => {
  await bot?.stop();
  await alertmanager?.stop();
  disk?.free();
  disk?.unmount();
});

const webhook = (prefix: string, count: number) =>
  JSON.stringify({
    version: '4',
    status: 'firing',
    receiver: 'wekube',
    groupKey: prefix,
    externalURL: 'http://am',
    alerts: Array.from({ length: count }, (_, i) => ({
      status: 'firing',
      labels: { alertname: `Disk${prefix}`, app: 'order', team: 'ops', severity: 'warning', instance: `${prefix}-${i}` },
      annotations: { summary: `summary of ${prefix}-${i} `.repeat(20) },
      startsAt: '2026-11-24T10:00:00Z',
      fingerprint: `${prefix}-${i}`,
    })),
  });

/** How many firing alerts the digests shown to a user announced in all. */
const announced = (bot: TestBot, user: string) =>
  bot.fake
    .shown(`user:${user}`)
    .map((delivery) => /告警摘要：(\d+) 条触发/.exec(delivery.content))
    .reduce((sum, match) => sum + (match ? Number(match[1]) : 0), 0);

describe('the data dir runs full, then has room again', () => {
  it('refuses what it cannot store (503), recovers on its own, and loses nothing it acknowledged', async () => {
    disk = smallDisk(32);
    alertmanager = await startAlertmanager({ webhookUrl: 'http://127.0.0.1:9/unused' });
    bot = await startBot({
      dataDir: join(disk.dir, 'data'),
      extra: { alerts: { digestWindow: '2s', alertmanagerUrl: alertmanager.url, routes: [{ match: 'team="ops"', to: { user: 'lisi' } }] } },
    });
    const post = (body: string) => fetch(`${bot.wekube.url}/alerts/alertmanager`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const ready = async () => (await fetch(`${bot.wekube.url}/readyz`)).status;
    const chat = new Conversation(bot);

    // Acknowledged before the fault: its digest falls due while the disk is full.
    expect((await post(webhook('before', 50))).status).toBe(200);
    // Acknowledged before the fault too, and still running when it comes (Alertmanager is frozen): its reply
    // cannot be stored when it is ready, and must reach lisi once there is room.
    alertmanager.pause();
    await chat.send('lisi', 'silences');

    // Every byte taken, and the write-ahead log emptied into the database, so the next commit needs new space.
    const outside = new BetterSqlite3(join(disk.dir, 'data', 'wekube.db'));
    outside.pragma('wal_checkpoint(TRUNCATE)');
    outside.close();
    disk.fill();

    const during = webhook('during', 200);
    expect((await post(during)).status).toBe(503);
    expect(await ready()).toBe(503);
    const callback = bot.sender.text('zhangsan', 'whoami');
    expect((await bot.sender.deliver(callback, false)).status).toBe(503);
    alertmanager.resume();
    // The digest of "before" is due now; it cannot be queued, and it is not lost either.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(await ready()).toBe(503);

    disk.free();
    // Nobody restarts anything: readiness comes back by itself.
    await waitFor(async () => (await ready()) === 200, 10_000);

    // Alertmanager and WeCom retry what was refused; both run now, once.
    expect((await post(during)).status).toBe(200);
    expect((await bot.sender.deliver(callback, false)).status).toBe(200);
    await chat.expect('zhangsan', /用户 ID/);
    await chat.expect('lisi', /没有生效的静默/);
    await waitFor(() => announced(bot, 'lisi') >= 250, 20_000);
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(announced(bot, 'lisi')).toBe(250);
    expect(bot.fake.shown('user:zhangsan').filter((d) => /用户 ID/.test(d.content))).toHaveLength(1);
    expect(bot.fake.shown('user:lisi').filter((d) => /没有生效的静默/.test(d.content))).toHaveLength(1);
  });
});

describe('the data dir turns read-only, then writable again', () => {
  it('keeps storing alerts, callbacks and subscriptions durably through the files it holds open', async () => {
    const roDisk = smallDisk(32);
    const dataDir = join(roDisk.dir, 'data');
    const roBot = await startBot({ dataDir, extra: { alerts: { digestWindow: '1s', routes: [{ match: 'team="ops"', to: { user: 'lisi' } }] } } });
    const chat = new Conversation(roBot);
    const post = (body: string) => fetch(`${roBot.wekube.url}/alerts/alertmanager`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const ready = async () => (await fetch(`${roBot.wekube.url}/readyz`)).status;
    try {
      await chat.ask('zhangsan', 'subscribe app=order', /已订阅/);
      // A read-only bind mount over the data dir: what is opened from now on cannot be written. All state is in the
      // database, whose files (and the log wekube fsyncs) are open already: everything goes on.
      execFileSync('mount', ['--bind', dataDir, dataDir]);
      execFileSync('mount', ['-o', 'remount,bind,ro', dataDir]);
      try {
        expect((await post(webhook('readonly', 20))).status).toBe(200);
        await chat.ask('zhangsan', 'whoami', /用户 ID/);
        await chat.ask('zhangsan', 'subscribe app=pay', /已订阅/);
        expect(await ready()).toBe(200);
      } finally {
        execFileSync('umount', [dataDir]);
      }
      await waitFor(() => announced(roBot, 'lisi') >= 20, 10_000);
      expect(announced(roBot, 'lisi')).toBe(20);
      expect(await chat.ask('zhangsan', 'subscribe', /我的告警订阅/)).toContain('app=pay');
    } finally {
      await roBot.stop();
      roDisk.unmount();
    }
  });
});
