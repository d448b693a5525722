// An alert storm through one real Alertmanager (Debian's) to two receivers for two users of the same fake WeCom:
// Alertmanager's own `wechat_configs` (to am-user) and a webhook to wekube (to wk-user), on the same route and
// group timers. Counts, from what the fake WeCom received, what each user was sent, what was over the limits, what
// WeCom would have dropped, and which alerts and resolves the user never heard of.
// Run: npm run bench -- storm-vs-alertmanager [--alerts 3000] [--window 1m] [--quiet 60]
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { FakeWecom, type Delivery } from '../test/fakes/wecom-server.js';
import { ALERTMANAGER_BINARY } from '../test/helpers/alertmanager.js';
import { WECOM, writeConfig } from '../test/helpers/bot.js';
import { freePort } from '../test/helpers/ports.js';
import { startWekubeProcess } from '../test/helpers/process.js';
import { waitFor } from '../test/helpers/wait.js';
import { report } from './report.js';

const ALERTNAMES = 50;
const APPS = 20;

interface StormAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  critical: boolean;
  resolvedAt?: number;
}

/** 50 alert names × 20 apps, three instances each in turn; `critical` of them critical. */
function storm(count: number, critical: number): StormAlert[] {
  return Array.from({ length: count }, (_, i) => {
    const name = `Storm${String(i % ALERTNAMES).padStart(2, '0')}Alert`;
    const app = `svc${String(Math.floor(i / ALERTNAMES) % APPS).padStart(2, '0')}x`;
    const isCritical = i % Math.round(count / critical) === 0;
    return {
      labels: { alertname: name, app, instance: `10.1.${Math.floor(i / 250)}.${i % 250}:9100`, severity: isCritical ? 'critical' : 'warning' },
      annotations: { summary: `${name} on ${app}: something is wrong (alert ${i})` },
      critical: isCritical,
    };
  });
}

async function startAlertmanager(fakeUrl: string, wekubeUrl: string): Promise<{ url: string; stop(): Promise<void> }> {
  if (!existsSync(ALERTMANAGER_BINARY)) throw new Error(`${ALERTMANAGER_BINARY} is missing: apt-get install prometheus-alertmanager`);
  const dir = mkdtempSync(join(tmpdir(), 'wekube-am-bench-'));
  const config = {
    global: { wechat_api_url: `${fakeUrl}/cgi-bin/`, wechat_api_secret: WECOM.secret, wechat_api_corp_id: WECOM.corpId },
    // The same timers for both: the ones README recommends for wekube.
    route: {
      receiver: 'wekube',
      group_by: ['alertname', 'app'],
      group_wait: '10s',
      group_interval: '30s',
      repeat_interval: '4h',
      routes: [
        { receiver: 'wechat', continue: true },
        { receiver: 'wekube' },
      ],
    },
    receivers: [
      { name: 'wechat', wechat_configs: [{ send_resolved: true, agent_id: String(WECOM.agentId), to_user: 'am-user' }] },
      { name: 'wekube', webhook_configs: [{ url: `${wekubeUrl}/alerts/alertmanager`, send_resolved: true }] },
    ],
  };
  writeFileSync(join(dir, 'alertmanager.yml'), stringify(config));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(ALERTMANAGER_BINARY, [`--config.file=${join(dir, 'alertmanager.yml')}`, `--storage.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address=', '--log.level=error'], { stdio: 'ignore' });
  await waitFor(async () => (await fetch(`${url}/-/ready`).catch(() => undefined))?.ok ?? false, 20_000, 'alertmanager ready');
  return {
    url,
    async stop() {
      child.kill('SIGTERM');
      if (child.exitCode === null) await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

interface Figures {
  'messages sent': number;
  'over 2048 bytes': number;
  'that WeCom would drop (30/min per member, errors)': number;
  'alerts never named as alertname + app': string;
  '… of them critical': string;
  'resolves the user heard of': string;
  'most messages in any minute': number;
  'last delivery after the storm began (s)': string;
  'last message sent, shown or dropped (s)': string;
}

function figures(fake: FakeWecom, user: string, alerts: StormAlert[], started: number, resolveMark: RegExp): Figures {
  const to = `user:${user}`;
  const requests = fake.requests.filter((r) => r.path === '/cgi-bin/message/send' && r.to === to);
  const deliveries = fake.deliveries.filter((d) => d.to === to);
  const shown = deliveries.filter((d) => d.shown);
  const named = (alert: StormAlert, among: Delivery[]) => among.some((d) => d.content.includes(alert.labels.alertname!) && d.content.includes(alert.labels.app!));
  const unnamed = alerts.filter((alert) => !named(alert, shown));
  const resolved = alerts.filter((alert) => alert.resolvedAt !== undefined);
  const heard = resolved.filter((alert) => named(alert, shown.filter((d) => d.at >= alert.resolvedAt! && resolveMark.test(d.content))));
  const times = requests.map((r) => r.at).sort((a, b) => a - b);
  let busiest = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i]! - times[j]! >= 60_000) j++;
    busiest = Math.max(busiest, i - j + 1);
  }
  const last = shown.length ? Math.max(...shown.map((d) => d.at)) : started;
  return {
    'messages sent': requests.length,
    'over 2048 bytes': deliveries.filter((d) => d.truncated).length + requests.filter((r) => r.errcode === 40058 || r.errcode === 45002).length,
    'that WeCom would drop (30/min per member, errors)': deliveries.filter((d) => d.dropped === 'rate-limit').length + requests.filter((r) => r.errcode !== undefined && r.errcode !== 0).length,
    'alerts never named as alertname + app': `${unnamed.length} of ${alerts.length}`,
    '… of them critical': `${unnamed.filter((alert) => alert.critical).length} of ${alerts.filter((alert) => alert.critical).length}`,
    'resolves the user heard of': `${heard.length} of ${resolved.length}`,
    'most messages in any minute': busiest,
    'last delivery after the storm began (s)': ((last - started) / 1000).toFixed(0),
    'last message sent, shown or dropped (s)': (((times.at(-1) ?? started) - started) / 1000).toFixed(0),
  };
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { alerts: { type: 'string', default: '3000' }, window: { type: 'string', default: '1m' }, quiet: { type: 'string', default: '60' } } });
  const fake = new FakeWecom({ corpId: WECOM.corpId, apps: [{ agentId: WECOM.agentId, secret: WECOM.secret }], users: ['am-user', 'wk-user'] });
  await fake.start();
  const { file } = writeConfig({
    apiBase: fake.url,
    extra: { alerts: { digestWindow: values.window, immediateSeverities: ['critical'], routes: [{ match: '', to: { user: 'wk-user' } }] } },
  });
  const wekube = await startWekubeProcess(file, 'built');
  const alertmanager = await startAlertmanager(fake.url, wekube.url);
  const alerts = storm(Number(values.alerts), Math.round(Number(values.alerts) * 0.117));

  const started = Date.now();
  const post = async (batch: StormAlert[], endsAt?: string) => {
    const body = batch.map((alert) => ({ labels: alert.labels, annotations: alert.annotations, startsAt: new Date(started).toISOString(), ...(endsAt ? { endsAt } : {}) }));
    const response = await fetch(`${alertmanager.url}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (!response.ok) throw new Error(`alertmanager refused the alerts: ${response.status}`);
  };
  // The storm arrives over 20 seconds, as Prometheus evaluates rules; 30% resolve a minute later.
  for (let i = 0; i < alerts.length; i += 150) {
    await post(alerts.slice(i, i + 150));
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + 60_000 - Date.now())));
  const resolving = alerts.filter((_, i) => i % 10 < 3);
  const now = Date.now();
  for (const alert of resolving) alert.resolvedAt = now;
  for (let i = 0; i < resolving.length; i += 300) await post(resolving.slice(i, i + 300), new Date(now).toISOString());
  // Until neither user has been sent anything for `quiet` seconds.
  const quietMs = Number(values.quiet) * 1000;
  await waitFor(() => Date.now() - Math.max(now, ...fake.requests.map((r) => r.at)) > quietMs, 15 * 60_000, 'the storm to settle');

  const am = figures(fake, 'am-user', alerts, started, /[Rr]esolved/);
  const ours = figures(fake, 'wk-user', alerts, started, /✅/);
  await alertmanager.stop();
  await wekube.stop();
  await fake.stop();
  const rows: Record<string, string> = {};
  for (const key of Object.keys(am) as (keyof Figures)[]) rows[key] = `${String(am[key]).padStart(14)}  ${String(ours[key]).padStart(14)}`;
  report(
    `alert storm through one Alertmanager (${alerts.length} alerts, ${ALERTNAMES} names × ${APPS} apps, ${alerts.filter((a) => a.critical).length} critical, 30% resolved after 60 s; wekube window ${values.window})\n  ${''.padEnd(50)}  ${'Alertmanager'.padStart(14)}  ${'wekube'.padStart(14)}`,
    rows,
    { name: 'storm-vs-alertmanager', alertmanager: am, wekube: ours, alerts: alerts.length, window: values.window },
  );
}
