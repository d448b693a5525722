// The alerts page after a storm: how long wekube takes to answer it, how big it is, and how long a phone-class
// browser (Debian's Chromium, CPU slowed 4×, a 390 px wide screen) takes to show it.
// Run: npm run bench -- view-page [--alerts 3000] [--requests 50]
import { parseArgs } from 'node:util';
import { ViewAuth, viewKey } from '../src/view/auth.js';
import { startBot, WECOM } from '../test/helpers/bot.js';
import { launchChromium, PHONE } from '../test/helpers/browser.js';
import { freePort } from '../test/helpers/ports.js';
import { percentile, report } from './report.js';

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { alerts: { type: 'string', default: '3000' }, requests: { type: 'string', default: '50' } } });
  const count = Number(values.alerts);
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const bot = await startBot({ extra: { server: { port, host: '127.0.0.1', publicUrl }, alerts: { digestWindow: '5m', immediateSeverities: [] } } });
  const browser = await launchChromium();
  try {
    const started = Date.now();
    const alerts = Array.from({ length: count }, (_, i) => ({
      status: 'firing',
      labels: { alertname: `Alert${i % 50}`, app: `app-${Math.floor(i / 50) % 20}`, severity: i % 9 === 0 ? 'critical' : i % 3 === 0 ? 'warning' : 'info', instance: `pod-${i}`, namespace: 'shop' },
      annotations: { summary: `Alert${i % 50} on pod-${i}`, description: 'Something is not right with this pod; see the runbook.' },
      startsAt: new Date(started - (count - i) * 200).toISOString(),
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: `http://prometheus.example:9090/graph?g0.expr=alert${i % 50}`,
      fingerprint: i.toString(16).padStart(16, '0'),
    }));
    for (let i = 0; i < alerts.length; i += 500) {
      const response = await fetch(`${bot.wekube.url}/alerts/alertmanager`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ version: '4', status: 'firing', receiver: 'wekube', groupKey: 'g', externalURL: 'http://am', alerts: alerts.slice(i, i + 500) }) });
      if (response.status !== 200) throw new Error(`webhook answered ${response.status}`);
    }
    // A link as a digest to lisi carries it, made with the key the bot derives from the same secrets.
    const auth = new ViewAuth({ key: viewKey([WECOM.secret, WECOM.aesKey, undefined])!, now: Date.now, publicUrl });
    const link = auth.link(`/view/alerts?from=${started - count * 200 - 60_000}&to=${Date.now()}`, { user: 'lisi' })!;
    const session = auth.session('lisi');
    const page = new URL(link);
    page.searchParams.delete('t');
    const times: number[] = [];
    let bytes = 0;
    let sent = 0;
    for (let i = 0; i < Number(values.requests); i++) {
      const t0 = performance.now();
      const response = await fetch(page, { headers: { cookie: `wekube_view=${session}` } });
      const body = await response.text();
      times.push(performance.now() - t0);
      if (response.status !== 200) throw new Error(`page answered ${response.status}`);
      bytes = Buffer.byteLength(body);
      sent = Number(response.headers.get('content-length'));
    }
    const context = await browser.newContext({ ...PHONE, deviceScaleFactor: 3 });
    const tab = await context.newPage();
    const cdp = await context.newCDPSession(tab);
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
    const shown: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      await tab.goto(i === 0 ? link : page.toString(), { waitUntil: 'load' });
      shown.push(performance.now() - t0);
    }
    report(
      `the alerts page after a storm of ${count} alerts (50 shown per page, the chart and filters over all of them)`,
      {
        'wekube answers (p50 / p99)': `${percentile(times, 50).toFixed(0)} ms / ${percentile(times, 99).toFixed(0)} ms`,
        'page size': `${(bytes / 1024).toFixed(0)} KiB of HTML (${(sent / 1024).toFixed(0)} KiB gzipped), nothing else to load`,
        'phone-class browser, open to load (first / median of next 4)': `${shown[0]!.toFixed(0)} ms / ${percentile(shown.slice(1), 50).toFixed(0)} ms`,
      },
      { name: 'view-page' },
    );
  } finally {
    await browser.close();
    await bot.stop();
  }
}
