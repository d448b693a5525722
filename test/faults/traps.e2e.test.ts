import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Conversation, startBot, type TestBot } from '../helpers/bot.js';
import { waitFor } from '../helpers/wait.js';

// Crafted input that once took the bot down, froze it, or reached the wrong people: each must now change nothing
// but its own outcome, and the bot must keep answering everyone else.

let bot: TestBot;
let chat: Conversation;
beforeAll(async () => {
  bot = await startBot({ extra: { alerts: { digestWindow: '1s', routes: [{ match: 'team="ops"', to: { user: 'lisi' } }] } } });
  chat = new Conversation(bot);
});
afterAll(async () => {
  await bot.stop();
});

const post = (alerts: unknown[]) =>
  fetch(`${bot.wekube.url}/alerts/alertmanager`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ version: '4', status: 'firing', receiver: 'wekube', groupKey: 'g', externalURL: 'http://am', alerts }),
  });
const alert = (fingerprint: string, status: 'firing' | 'resolved', labels: Record<string, string> = {}) => ({
  status,
  labels: { alertname: 'Trap', team: 'ops', severity: 'warning', ...labels },
  annotations: {},
  startsAt: '2026-11-24T10:00:00Z',
  endsAt: status === 'resolved' ? '2026-11-24T10:05:00Z' : undefined,
  fingerprint,
});
const postRaw = (body: string, query = 'msg_signature=0123456789012345678901234567890123456789&timestamp=1&nonce=1') =>
  fetch(`${bot.wekube.url}/wecom/callback?${query}`, { method: 'POST', body });

describe('traps', () => {
  it('takes fingerprints and labels named like Object.prototype members as plain data', async () => {
    const names = ['__proto__', 'toString', 'constructor', 'hasOwnProperty', 'valueOf'];
    // A resolve never seen firing first, then firing and resolved again.
    for (const name of names) expect((await post([alert(name, 'resolved')])).status).toBe(200);
    for (const name of names) expect((await post([alert(name, 'firing', { owner: name, app: name })])).status).toBe(200);
    for (const name of names) expect((await post([alert(name, 'resolved')])).status).toBe(200);
    const probe = {} as Record<string, unknown>;
    expect([probe.status, probe.endsAt, probe.lastSeen]).toEqual([undefined, undefined, undefined]);
    // Everyone else is still answered, and the metrics still render.
    await chat.ask('zhangsan', 'whoami', /用户 ID/);
    expect((await fetch(`${bot.wekube.url}/metrics`)).status).toBe(200);
    await chat.ask('zhangsan', 'deploy constructor 1.0', /没有应用|未知|不认识|constructor/);
    // The five alerts reached lisi through the route, as alerts.
    await waitFor(() => bot.fake.shown('user:lisi').some((d) => /5 条触发/.test(d.content)), 10_000);
  });

  it('refuses a message too long to be a command with a short answer, and stays responsive', async () => {
    const from = await chat.send('zhangsan', `deploy ${'x'.repeat(40_000)}`);
    const answer = await chat.expect('zhangsan', /消息太长/, from);
    expect(Buffer.byteLength(answer)).toBeLessThan(400);
    expect((await fetch(`${bot.wekube.url}/healthz`)).status).toBe(200);
    await chat.ask('zhangsan', 'whoami', /用户 ID/);
  });

  it('never lets a sender id name two recipients', async () => {
    const before = bot.fake.deliveries.length;
    const answer = await bot.sender.deliver(bot.sender.text('zhangsan|lisi', 'whoami'), false);
    expect(answer.status).toBe(400);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(bot.fake.deliveries.slice(before)).toEqual([]);
  });

  it('delivers an urgent alert with enormous labels as one message within the limits, without a card WeCom would refuse', async () => {
    const before = bot.fake.shown('user:lisi').length;
    // alertname + app over 1 KB make the silence button's key too long for a card; 60 KB would have been 60 messages.
    expect((await post([alert('huge-1', 'firing', { severity: 'critical', alertname: 'A'.repeat(700), app: 'b'.repeat(700) })])).status).toBe(200);
    await waitFor(() => bot.fake.shown('user:lisi').length > before, 15_000);
    expect((await post([alert('huge-2', 'firing', { severity: 'critical', alertname: 'C'.repeat(60_000) })])).status).toBe(200);
    await waitFor(() => bot.fake.shown('user:lisi').length > before + 1, 15_000);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const shown = bot.fake.shown('user:lisi').slice(before);
    expect(shown).toHaveLength(2);
    for (const delivery of shown) expect(delivery.bytes).toBeLessThanOrEqual(2048);
    // (81013 comes from the first test: owner labels such as "constructor" are valid userids that WeCom does not know.)
    expect(bot.fake.requests.filter((r) => r.path === '/cgi-bin/message/send' && r.errcode !== 0 && r.errcode !== undefined && r.errcode !== 81013)).toEqual([]);
  });

  it('takes XML with reserved names and deep nesting as plain data: 4xx when unsigned, never 5xx, no prototype touched', async () => {
    const nested = `<xml>${'<a>'.repeat(150)}${'</a>'.repeat(150)}<Encrypt>x</Encrypt></xml>`;
    // Well-formed but unsigned: forged (403), or malformed (400) without an <Encrypt>.
    const statuses = [];
    for (const body of ['<xml><__proto__>x</__proto__><Encrypt>x</Encrypt></xml>', '<xml><constructor>1</constructor></xml>', nested]) statuses.push((await postRaw(body)).status);
    expect(statuses).toEqual([403, 400, 403]);
    const plain = (inner: string) => `<xml><ToUserName>${bot.sender.options.corpId}</ToUserName><FromUserName>zhangsan</FromUserName><CreateTime>1</CreateTime>${inner}</xml>`;
    // Signed: the unknown elements are ignored and both commands answered; a <MsgType> given twice is refused.
    const answered = bot.fake.shown('user:zhangsan').length;
    for (const [inner, status] of [
      ['<__proto__><polluted>1</polluted></__proto__><MsgType>text</MsgType><Content>whoami</Content><MsgId>9100</MsgId>', 200],
      [`${'<b>'.repeat(200)}${'</b>'.repeat(200)}<MsgType>text</MsgType><Content>whoami</Content><MsgId>9101</MsgId>`, 200],
      ['<MsgType>text</MsgType><MsgType>event</MsgType>', 400],
    ] as const) {
      expect((await bot.sender.deliver(bot.sender.envelope(plain(inner)), false)).status).toBe(status);
    }
    await waitFor(() => bot.fake.shown('user:zhangsan').length === answered + 2, 10_000, 'both whoami answered');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
