import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupId } from '../../src/alerts/claims.js';
import { Conversation, startBot, type TestBot } from '../helpers/bot.js';
import { launchChromium, PHONE } from '../helpers/browser.js';
import { ensureCluster } from '../helpers/cluster.js';
import { freePort } from '../helpers/ports.js';

// The pages behind the links in digests and drill reports, in a real browser (Debian's Chromium): a link bound to
// its recipient, WeCom's web login against the fake's OAuth endpoints, refusals, the filters, and the charts drawn.

const ALERTMANAGER = 'http://alertmanager.example:9093';
const APPS = ['order', 'pay', 'cart', 'user'];
const NAMES: [string, string][] = [
  ['KubePodCrashLooping', 'critical'],
  ['HighLatency', 'warning'],
  ['DiskFilling', 'info'],
];
let bot: TestBot;
let chat: Conversation;
let browser: Browser;
let publicUrl: string;
const shots = mkdtempSync(join(tmpdir(), 'wekube-pages-'));

/** 60 alerts over the last 20 minutes: 3 names × 4 apps × 5 instances, the last instance of each resolved. */
function alerts(now: number) {
  const list = [];
  for (const [n, [alertname, severity]] of NAMES.entries()) {
    for (const [a, app] of APPS.entries()) {
      for (let i = 0; i < 5; i++) {
        const startsAt = new Date(now - (20 - n * 5 - a - i) * 60_000).toISOString();
        const resolved = i === 4;
        list.push({
          status: resolved ? 'resolved' : 'firing',
          labels: { alertname, severity, app, instance: `${app}-${i}`, namespace: 'shop' },
          annotations: { summary: `${alertname} on ${app}-${i}`, runbook_url: 'https://wiki.example/runbook' },
          startsAt,
          endsAt: resolved ? new Date(now - 60_000).toISOString() : '0001-01-01T00:00:00Z',
          generatorURL: `http://prometheus.example:9090/graph?g0.expr=${alertname}`,
          fingerprint: `${n}${a}${i}`.padStart(16, '0'),
        });
      }
    }
  }
  return list;
}

beforeAll(async () => {
  const port = await freePort();
  publicUrl = `http://127.0.0.1:${port}`;
  const drills = mkdtempSync(join(tmpdir(), 'wekube-pages-drills-'));
  writeFileSync(
    join(drills, 'two-steps.yaml'),
    [
      'title: 两步',
      'rto: 1m',
      'steps:',
      '  - { id: break, title: 停掉组件, instructions: 停掉它。, fault: true }',
      '  - { id: mend, title: 恢复组件, instructions: 恢复它。, recovery: true, check: { type: nodes, interval: 1s, limit: 30s } }',
      '',
    ].join('\n'),
  );
  bot = await startBot({
    fake: { chats: ['ops-oncall'] },
    extra: {
      server: { port, host: '127.0.0.1', publicUrl },
      access: {
        defaultRole: 'viewer',
        roles: { viewer: { allow: ['alerts', 'drill', 'claim', 'help'] }, deployer: { allow: ['status', 'deploy'] }, ops: { allow: ['*'], approve: true } },
        users: { lisi: ['ops'], wangwu: ['deployer'] },
      },
      environments: { test: { namespace: 'default', kubeconfig: await ensureCluster() } },
      alerts: { digestWindow: '1s', immediateSeverities: [], alertmanagerUrl: ALERTMANAGER, routes: [{ match: 'severity=~".+"', to: { user: 'lisi' } }, { match: 'severity="critical"', to: { chat: 'ops-oncall' } }] },
      drills: { dir: drills, to: [{ chat: 'ops-oncall' }] },
    },
  });
  chat = new Conversation(bot);
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await bot?.stop();
});

/** A phone-sized page in a browser of its own (no cookies from the others). */
async function phone(): Promise<Page> {
  const context = await browser.newContext({ ...PHONE, deviceScaleFactor: 2 });
  return context.newPage();
}

/** How many pixels of the element's screenshot are close to the colour: the chart is drawn, not only in the DOM. */
async function pixelsOf(page: Page, selector: string, rgb: [number, number, number]): Promise<number> {
  const png = (await page.locator(selector).screenshot({ path: join(shots, `${selector.replace(/\W/g, '')}.png`) })).toString('base64');
  return page.evaluate(
    async ({ png, rgb }) => {
      const image = new Image();
      image.src = `data:image/png;base64,${png}`;
      await image.decode();
      const canvas = new OffscreenCanvas(image.width, image.height);
      const context = canvas.getContext('2d')!;
      context.drawImage(image, 0, 0);
      const data = context.getImageData(0, 0, image.width, image.height).data;
      let count = 0;
      for (let i = 0; i < data.length; i += 4) if (Math.abs(data[i]! - rgb[0]) + Math.abs(data[i + 1]! - rgb[1]) + Math.abs(data[i + 2]! - rgb[2]) < 30) count++;
      return count;
    },
    { png, rgb },
  );
}

const linkIn = (content: string, path: string): string => {
  const found = content.match(new RegExp(`\\((${publicUrl.replace(/[.:/]/g, '\\$&')}${path}[^)\\s]*)\\)`));
  if (!found) throw new Error(`no link to ${path} in: ${content}`);
  return found[1]!;
};

async function waitFor<T>(what: () => T | undefined, label: string, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = what();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`never saw ${label}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('the alerts page', () => {
  let link: string;

  beforeAll(async () => {
    // As Alertmanager tells it: everything firing first, then the resolves.
    const storm = alerts(Date.now());
    const firing = storm.map((alert) => ({ ...alert, status: 'firing', endsAt: '0001-01-01T00:00:00Z' }));
    for (const batch of [firing, storm.filter((alert) => alert.status === 'resolved')]) {
      const response = await fetch(`${bot.wekube.url}/alerts/alertmanager`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ version: '4', status: 'firing', receiver: 'wekube', groupKey: 'g', externalURL: ALERTMANAGER, alerts: batch }),
      });
      expect(response.status).toBe(200);
    }
    await chat.ask('lisi', `claim ${groupId('KubePodCrashLooping', 'pay')}`, /认领/);
    const digest = await waitFor(() => chat.seen('lisi').find((text) => text.includes('/view/alerts')), 'the digest with its link');
    link = linkIn(digest, '/view/alerts');
  });

  it('is linked from the digest with a token bound to its recipient, and from a group chat without one', async () => {
    expect(new URL(link).searchParams.get('t')).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    const group = await waitFor(() => bot.fake.shown('chat:ops-oncall').find((delivery) => delivery.content.includes('/view/alerts'))?.content, 'the group digest');
    expect(new URL(linkIn(group, '/view/alerts')).searchParams.has('t')).toBe(false);
  });

  it('opens from the link on a phone: every alert with its details, a drawn chart, filters, and English', async () => {
    const page = await phone();
    const response = await page.goto(link);
    expect(response?.status()).toBe(200);
    // The token is swapped for a session at once: it is not left in the address bar.
    expect(new URL(page.url()).searchParams.has('t')).toBe(false);
    expect(response?.headers()['cache-control']).toBe('no-store');
    expect(response?.headers()['content-encoding']).toBe('gzip');
    await expect.poll(() => page.locator('h1').textContent()).toBe('告警');
    expect(await page.locator('[data-counts]').textContent()).toBe('共 60 条：48 条触发中，12 条已恢复');
    // 50 on the first page, critical and firing first.
    expect(await page.locator('details').count()).toBe(50);
    expect(await page.locator('details .sev').first().textContent()).toBe('critical');
    expect(await page.locator('nav.pages').textContent()).toContain('第 1/2 页');

    // The chart: one stacked bar per minute by severity, drawn in each severity's colour.
    const bars = page.locator('svg[data-chart="alerts"] rect');
    expect(await bars.count()).toBeGreaterThan(10);
    expect(await page.locator('svg[data-chart="alerts"] rect[data-series="critical"]').count()).toBeGreaterThan(0);
    expect(await pixelsOf(page, 'svg[data-chart="alerts"]', [0xd8, 0x39, 0x31])).toBeGreaterThan(200);
    expect(await pixelsOf(page, 'svg[data-chart="alerts"]', [0xff, 0xc6, 0x0a])).toBeGreaterThan(200);
    await page.screenshot({ path: join(shots, 'alerts.png'), fullPage: false });

    // One alert in full: labels, annotations, times, who claimed its group, links to Alertmanager and the rule.
    const entry = page.locator('details', { hasText: 'pay-0' }).filter({ hasText: 'KubePodCrashLooping' });
    await entry.locator('summary').click();
    const text = await entry.textContent();
    expect(text).toContain('instance');
    expect(text).toContain('runbook_url');
    expect(text).toContain('KubePodCrashLooping on pay-0');
    expect(text).toMatch(/认领lisi · /);
    expect(await entry.locator('a', { hasText: '在 Alertmanager 中查看' }).getAttribute('href')).toBe(`${ALERTMANAGER}/#/alerts?filter=${encodeURIComponent('{alertname="KubePodCrashLooping",app="pay"}')}`);
    expect(await entry.locator('a', { hasText: '来源' }).getAttribute('href')).toBe('http://prometheus.example:9090/graph?g0.expr=KubePodCrashLooping');

    // Filters: app and status.
    await page.selectOption('select[name="app"]', 'cart');
    await page.selectOption('select[name="status"]', 'resolved');
    await page.click('button[type="submit"]');
    await expect.poll(() => page.locator('[data-counts]').textContent()).toBe('共 3 条：0 条触发中，3 条已恢复');
    expect(await page.locator('details .app').allTextContents()).toEqual(['cart', 'cart', 'cart']);
    expect(new URL(page.url()).searchParams.get('app')).toBe('cart');

    await page.click('text=English');
    await expect.poll(() => page.locator('h1').textContent()).toBe('Alerts');
    expect(await page.locator('[data-counts]').textContent()).toBe('3 in all: 0 firing, 3 resolved');
    await page.context().close();
  });

  it('sends someone without a session through WeCom web login and back', async () => {
    bot.fake.browser = { userid: 'zhaoliu' };
    const page = await phone();
    const target = `${publicUrl}/view/alerts?from=${Date.now() - 3_600_000}&severity=warning`;
    const visited: string[] = [];
    page.on('request', (request) => request.isNavigationRequest() && visited.push(new URL(request.url()).pathname));
    const response = await page.goto(target);
    expect(response?.status()).toBe(200);
    expect(visited).toEqual(['/view/alerts', '/connect/oauth2/authorize', '/view/login', '/view/alerts']);
    expect(new URL(page.url()).searchParams.get('severity')).toBe('warning');
    expect(await page.locator('[data-counts]').textContent()).toBe('共 20 条：16 条触发中，4 条已恢复');
    expect(await page.textContent('body')).toContain('zhaoliu 已登录');
    expect(bot.fake.requests.filter((request) => request.path === '/cgi-bin/auth/getuserinfo')).toHaveLength(1);
    // A second look needs no second login, even through a link whose token is no good (an old message's).
    await page.goto(target);
    expect((await page.goto(`${target}&t=expired.bGlzaQ.bm9wZQ`))?.status()).toBe(200);
    expect(new URL(page.url()).searchParams.has('t')).toBe(false);
    expect(await page.textContent('body')).toContain('zhaoliu 已登录');
    expect(bot.fake.requests.filter((request) => request.path === '/cgi-bin/auth/getuserinfo')).toHaveLength(1);
    await page.context().close();
  });

  it('refuses someone outside the company, a member whose roles do not allow alerts, and a forged or replayed login', async () => {
    bot.fake.browser = { openid: 'oAbCdEfGhIjKlMn' };
    const outsider = await phone();
    const refused = await outsider.goto(`${publicUrl}/view/alerts`);
    expect(refused?.status()).toBe(403);
    expect(await outsider.textContent('body')).toContain('只有本企业的成员可以查看这个页面。');
    expect(await outsider.locator('details').count()).toBe(0);
    await outsider.context().close();

    bot.fake.browser = { userid: 'wangwu' };
    const member = await phone();
    const forbidden = await member.goto(`${publicUrl}/view/alerts`);
    expect(forbidden?.status()).toBe(403);
    expect(await member.textContent('body')).toContain('你的角色（deployer）不能使用 alerts');
    await member.context().close();

    // A token with its user changed, and a login that did not start here: no way in.
    bot.fake.browser = undefined;
    const forger = await phone();
    const [expires, , mac] = new URL(link).searchParams.get('t')!.split('.');
    await forger.goto(`${publicUrl}/view/alerts?t=${expires}.${Buffer.from('zhaoliu').toString('base64url')}.${mac}`);
    expect(await forger.textContent('body')).toContain('请在企业微信客户端打开链接');
    const replay = await forger.goto(`${publicUrl}/view/login?code=stolen&state=guess`);
    expect(replay?.status()).toBe(400);
    expect(await forger.locator('details').count()).toBe(0);
    await forger.context().close();
  });
});

describe('the drill page', () => {
  it('is linked from the report and shows the steps on a time line with the time to recovery', async () => {
    const from = await chat.send('lisi', 'drill start two-steps');
    await chat.expect('lisi', /第 1\/2 步/, from);
    await chat.send('lisi', '完成');
    await chat.expect('lisi', /第 2\/2 步/, from);
    await chat.send('lisi', '完成 好了');
    const report = await chat.expect('lisi', /演练报告/, from);
    const page = await phone();
    expect((await page.goto(linkIn(report, '/view/drills/')))?.status()).toBe(200);
    expect(await page.locator('h1').textContent()).toMatch(/演练 #\d+ two-steps：两步/);
    expect(await page.locator('svg[data-chart="drill"] rect[data-step]').count()).toBe(2);
    expect(await page.textContent('[data-steps]')).toContain('恢复组件');
    expect(await page.textContent('svg[data-chart="drill"]')).toMatch(/故障到恢复/);
    expect(await pixelsOf(page, 'svg[data-chart="drill"]', [0x2e, 0xa1, 0x21])).toBeGreaterThan(100);
    await page.screenshot({ path: join(shots, 'drill.png') });
    await page.context().close();
  });
});
