// An alert storm against wekube running as its own process: 20,000 alerts in webhooks of 100 (4 in flight),
// as an outage produces them, with a 10 s digest window. Prints webhook latency, alerts accepted per second, the
// process's peak memory, and how many messages each recipient received for it.
// Run: npm run bench -- alert-storm [--alerts 20000] [--size 100]
import { parseArgs } from 'node:util';
import { CallbackSender } from '../test/fakes/callback-sender.js';
import { FakeWecom } from '../test/fakes/wecom-server.js';
import { USERS, WECOM, writeConfig } from '../test/helpers/bot.js';
import { STORM_ALERT_ROUTES, stormAlerts, stormWebhooks } from '../test/helpers/storm.js';
import { memoryMiB, startWekubeProcess } from '../test/helpers/process.js';
import { percentile, report } from './report.js';

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { alerts: { type: 'string', default: '20000' }, size: { type: 'string', default: '100' } } });
  const fake = new FakeWecom({ corpId: WECOM.corpId, apps: [{ agentId: WECOM.agentId, secret: WECOM.secret }], users: USERS, robots: ['storm-robot'], chats: ['opschat'] });
  await fake.start();
  const { file } = writeConfig({
    apiBase: fake.url,
    extra: {
      alerts: {
        digestWindow: '10s',
        immediateSeverities: ['critical'],
        routes: STORM_ALERT_ROUTES,
      },
    },
  });
  const wekube = await startWekubeProcess(file, 'built');
  const { url, child } = wekube;
  const sender = new CallbackSender({ url, ...WECOM });
  for (const [user, matchers] of [['lisi', 'severity=~"warning|critical"'], ['zhangsan', 'app=app-3']] as const) await sender.deliver(sender.text(user, `subscribe ${matchers}`));
  const subscribed = Date.now();
  while (fake.deliveries.filter((d) => d.content.includes('已订阅')).length < 2) {
    if (Date.now() - subscribed > 10_000) throw new Error('the subscriptions were not confirmed');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const storm = fake.deliveries.length;

  const alerts = stormAlerts(Number(values.alerts));
  const webhooks = stormWebhooks(alerts, Number(values.size));
  const baseline = memoryMiB(child.pid!, 'VmRSS');
  const latencies: number[] = [];
  let next = 0;
  let failures = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < webhooks.length) {
        const body = webhooks[next++]!;
        const t0 = performance.now();
        const response = await fetch(`${url}/alerts/alertmanager`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        await response.arrayBuffer();
        latencies.push(performance.now() - t0);
        if (response.status !== 200) failures++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  // Until every batch (urgent ones every 10 s, digests when their 10 s window ends) has reached WeCom.
  const pending = async () => {
    const metrics = await (await fetch(`${url}/metrics`)).text();
    return Number(/wekube_alert_batches_pending (\d+)/.exec(metrics)![1]) + Number(/wekube_outbox_pending (\d+)/.exec(metrics)![1]);
  };
  while ((await pending()) > 0) await new Promise((resolve) => setTimeout(resolve, 250));
  const drained = (performance.now() - started) / 1000;
  const peak = memoryMiB(child.pid!, 'VmHWM');
  const received = fake.deliveries.slice(storm);
  const messages = (to: string) => received.filter((d) => d.to === to && d.shown).length;
  await wekube.stop();
  await fake.stop();
  report(`alert storm: ${alerts.length} alerts in webhooks of ${values.size}, 4 in flight (wekube process, fake WeCom)`, {
    'webhooks answered non-200': failures,
    'webhook p50 (ms)': percentile(latencies, 50).toFixed(1),
    'webhook p99 (ms)': percentile(latencies, 99).toFixed(1),
    'webhook max (ms)': Math.max(...latencies).toFixed(1),
    'alerts accepted per second': (alerts.length / seconds).toFixed(0),
    'RSS before / peak (MiB)': `${baseline.toFixed(0)} / ${peak.toFixed(0)}`,
    'all batches delivered after (s)': drained.toFixed(1),
    'messages received: lisi (everything), robot (critical), chat (app-7), zhangsan (app-3)': `${messages('user:lisi')}, ${messages('robot:storm-robot')}, ${messages('chat:opschat')}, ${messages('user:zhangsan')}`,
    'messages dropped or refused by WeCom': received.filter((d) => !d.shown).length + fake.requests.filter((r) => r.errcode !== undefined && r.errcode !== 0).length,
  });
}
