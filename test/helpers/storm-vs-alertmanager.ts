// An alert storm through one real Alertmanager (Debian's) to two receivers for two users of the same fake WeCom:
// Alertmanager's own `wechat_configs` (to am-user) and a webhook to wekube (to wk-user), on the same route and
// group timers. Counts, from what the fake WeCom received, what each user was sent, what was over the limits, what
// WeCom would have dropped, and which alerts and resolves the user never heard of. Used by the storm test and by
// `npm run bench -- storm-vs-alertmanager`.
import { FakeWecom, type Delivery } from '../fakes/wecom-server.js';
import { startAlertmanager } from './alertmanager.js';
import { WECOM, writeConfig } from './bot.js';
import { startWekubeProcess } from './process.js';
import { waitFor } from './wait.js';

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

/** Alertmanager's own WeChat receiver (to am-user) and wekube's webhook on one route, with README's timers. */
const sideBySide = (fakeUrl: string, wekubeUrl: string) => ({
  global: { wechat_api_url: `${fakeUrl}/cgi-bin/`, wechat_api_secret: WECOM.secret, wechat_api_corp_id: WECOM.corpId },
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
});

/** What one user was sent in the storm, counted at the fake WeCom. */
export interface StormFigures {
  sent: number;
  overLimit: number;
  dropped: number;
  unnamed: number;
  unnamedCritical: number;
  resolvesHeard: number;
  busiestMinute: number;
  /** Seconds after the storm began. */
  lastShown: number;
  lastSent: number;
  /** Delivered messages that link to a page with every alert. */
  pageLinks: number;
}

function figures(fake: FakeWecom, user: string, alerts: StormAlert[], started: number, resolveMark: RegExp): StormFigures {
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
    sent: requests.length,
    overLimit: deliveries.filter((d) => d.truncated).length + requests.filter((r) => r.errcode === 40058 || r.errcode === 45002).length,
    dropped: deliveries.filter((d) => d.dropped === 'rate-limit').length + requests.filter((r) => r.errcode !== undefined && r.errcode !== 0).length,
    unnamed: unnamed.length,
    unnamedCritical: unnamed.filter((alert) => alert.critical).length,
    resolvesHeard: heard.length,
    busiestMinute: busiest,
    lastShown: (last - started) / 1000,
    lastSent: ((times.at(-1) ?? started) - started) / 1000,
    pageLinks: shown.filter((d) => d.content.includes('/view/alerts?')).length,
  };
}

export interface StormOptions {
  alerts: number;
  /** wekube's digest window, as in its config ("1m"). */
  window: string;
  /** The run ends once neither user has been sent anything for this long. */
  quietSeconds: number;
  /** How wekube runs: from source (tests) or built (benchmarks). */
  entry: 'source' | 'built';
}

export interface StormResult {
  alerts: number;
  critical: number;
  resolved: number;
  alertmanager: StormFigures;
  wekube: StormFigures;
}

/** The whole run: a storm of `alerts` over 20 s, 30% resolved a minute after it began, until both users are quiet. */
export async function stormSideBySide(options: StormOptions): Promise<StormResult> {
  const fake = new FakeWecom({ corpId: WECOM.corpId, apps: [{ agentId: WECOM.agentId, secret: WECOM.secret }], users: ['am-user', 'wk-user'] });
  await fake.start();
  const { file } = writeConfig({
    apiBase: fake.url,
    extra: {
      // Links to the pages ride in the messages (and take their bytes), as in production.
      server: { port: 0, host: '127.0.0.1', publicUrl: 'https://wekube.example.com' },
      alerts: { digestWindow: options.window, immediateSeverities: ['critical'], routes: [{ match: '', to: { user: 'wk-user' } }] },
    },
  });
  const wekube = await startWekubeProcess(file, options.entry);
  const alertmanager = await startAlertmanager({ config: sideBySide(fake.url, wekube.url) }).catch(async (error: unknown) => {
    await wekube.stop();
    await fake.stop();
    throw error;
  });
  try {
    const alerts = storm(options.alerts, Math.round(options.alerts * 0.117));

    const started = Date.now();
    const post = (batch: StormAlert[], endsAt?: string) =>
      alertmanager.post(batch.map((alert) => ({ labels: alert.labels, annotations: alert.annotations, startsAt: new Date(started).toISOString(), ...(endsAt ? { endsAt } : {}) })));
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
    const quietMs = options.quietSeconds * 1000;
    await waitFor(() => Date.now() - Math.max(now, ...fake.requests.map((r) => r.at)) > quietMs, 15 * 60_000, 'the storm to settle');

    const am = figures(fake, 'am-user', alerts, started, /[Rr]esolved/);
    const ours = figures(fake, 'wk-user', alerts, started, /✅/);
    return { alerts: alerts.length, critical: alerts.filter((a) => a.critical).length, resolved: resolving.length, alertmanager: am, wekube: ours };
  } finally {
    await alertmanager.stop();
    await wekube.stop();
    await fake.stop();
  }
}
