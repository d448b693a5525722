import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBot, type TestBot } from '../helpers/bot.js';

let bot: TestBot;
beforeAll(async () => {
  bot = await startBot({ extra: { alerts: { webhookToken: 'secret-token' } } });
});
afterAll(async () => {
  await bot.stop();
});

const post = (body: string, token = 'secret-token') =>
  fetch(`${bot.wekube.url}/alerts/alertmanager`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body });
const payload = (alerts: unknown[]) => JSON.stringify({ version: '4', status: 'firing', receiver: 'wekube', groupKey: 'g', externalURL: 'http://am', alerts });
const alert = { status: 'firing', labels: { alertname: 'X' }, annotations: {}, startsAt: '2026-11-24T10:00:00Z', fingerprint: 'abc' };

describe('the Alertmanager webhook', () => {
  it('accepts a valid payload once it is stored', async () => {
    const response = await post(payload([alert]));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok', alerts: 1, firing: 1, resolved: 0 });
  });

  it('answers 401 to a missing or wrong token', async () => {
    expect((await post(payload([alert]), 'guess')).status).toBe(401);
    const none = await fetch(`${bot.wekube.url}/alerts/alertmanager`, { method: 'POST', body: payload([alert]) });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toContain('Bearer');
  });

  it('answers 400 to what can never be accepted, saying why', async () => {
    const cases: [string, RegExp][] = [
      ['not json', /not JSON/],
      [JSON.stringify({ version: '3', status: 'firing', alerts: [] }), /version/],
      [payload([{ ...alert, startsAt: 'yesterday' }]), /alerts\.0\.startsAt: must be an RFC 3339 time/],
      [payload([{ ...alert, fingerprint: '' }]), /alerts\.0\.fingerprint/],
      [payload([{ ...alert, status: 'pending' }]), /alerts\.0\.status/],
    ];
    for (const [body, why] of cases) {
      const response = await post(body);
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: string }).error).toMatch(why);
    }
  });
  // Refusing (5xx) while the disk is full, and recovering after, is in test/faults/disk-full.e2e.test.ts.
});

describe('connections Alertmanager keeps open', () => {
  it('keeps an idle keep-alive connection open past Node’s 5 s default, and says for how long (more than Go’s 90 s)', async () => {
    const { Agent, request } = await import('node:http');
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const send = () =>
      new Promise<{ status: number; reused: boolean; keepAlive: string }>((resolve, reject) => {
        const req = request(`${bot.wekube.url}/alerts/alertmanager`, { method: 'POST', agent, headers: { authorization: 'Bearer secret-token', 'content-type': 'application/json' } }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode!, reused: req.reusedSocket, keepAlive: String(res.headers['keep-alive'] ?? '') }));
        });
        req.on('error', reject);
        req.end(payload([alert]));
      });
    const first = await send();
    expect(first.status).toBe(200);
    expect(Number(/timeout=(\d+)/.exec(first.keepAlive)?.[1])).toBeGreaterThan(90);
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    // Closed under the client, this request would fail with ECONNRESET (Go's client: an EOF, then a retry).
    const second = await send();
    expect(second).toMatchObject({ status: 200, reused: true });
    agent.destroy();
  }, 20_000);
});
