import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventXml, nextMsgId, textXml, wecomEncrypt, wecomSign, type RawCallback } from '../fakes/callback-sender.js';
import { startBot, WECOM, type TestBot } from '../helpers/bot.js';
import { waitFor } from '../helpers/wait.js';
import { parseDuration } from '../../src/config/duration.js';

let bot: TestBot;
beforeAll(async () => {
  bot = await startBot();
});
afterAll(async () => {
  await bot.stop();
});

const shown = (user: string) => bot.fake.shown(`user:${user}`);
async function reply(user: string, count = 1) {
  await waitFor(() => shown(user).length >= count, 5000);
  return shown(user)[count - 1]!.content;
}

describe('WeCom callback, driven as WeCom drives it', () => {
  it('answers URL verification with the bare decrypted echostr, within a second', async () => {
    const { request, echo } = bot.sender.verification();
    const answer = await bot.sender.deliver(request);
    expect(answer.status).toBe(200);
    expect(answer.body).toBe(echo);
    expect(answer.ms).toBeLessThan(1000);
  });

  it('acks a message at once with an empty 200 and replies to help with the command list', async () => {
    const answer = await bot.sender.deliver(bot.sender.text('zhangsan', 'help'));
    expect(answer).toMatchObject({ status: 200, body: '', attempts: 1 });
    const text = await reply('zhangsan');
    expect(text).toContain('**wekube 命令**');
    expect(text).toContain('`help [命令]` 帮助');
    expect(text).toContain('`whoami` 我是谁');
  });

  it('understands 帮助 and help typed with a full-width IME', async () => {
    await bot.sender.deliver(bot.sender.text('wangwu', '帮助'));
    await bot.sender.deliver(bot.sender.text('wangwu', 'ｈｅｌｐ　ｗｈｏａｍｉ'));
    expect(await reply('wangwu', 1)).toContain('wekube 命令');
    // The command list may take several numbered messages: look for the usage by what it says.
    await waitFor(() => shown('wangwu').some((d) => d.content.includes('whoami · 我是谁')), 5000);
  });

  it('tells other text to send help, in one line', async () => {
    await bot.sender.deliver(bot.sender.text('lisi', '今天发布吗'));
    const text = await reply('lisi');
    expect(text).toContain('没有看懂“今天发布吗”');
    expect(text.split('\n')).toHaveLength(1);
  });

  it('suggests the command a typo was meant to be, and guesses nothing from afar', async () => {
    await bot.sender.deliver(bot.sender.text('zhaoliu', 'depoly order-service 1.4.2'));
    expect(await reply('zhaoliu')).toContain('没有命令“depoly”。你是不是想发：deploy order-service 1.4.2（deploy）？');
    await bot.sender.deliver(bot.sender.text('zhaoliu', 'statsu'));
    expect(await reply('zhaoliu', 2)).toContain('你是不是想发：status');
    await bot.sender.deliver(bot.sender.text('zhaoliu', 'xyzzy'));
    expect(await reply('zhaoliu', 3)).toContain('没有看懂“xyzzy”');
  });

  it('takes Chinese environment names, 全部 and Chinese durations', async () => {
    await bot.sender.deliver(bot.sender.text('sunqi', 'alerts @生产'));
    expect(await reply('sunqi', 1)).toContain('prod 现在没有正在触发的告警');
    await bot.sender.deliver(bot.sender.text('sunqi', '退订 全部'));
    expect(await reply('sunqi', 2)).toContain('你还没有订阅告警');
    await bot.sender.deliver(bot.sender.text('sunqi', 'alerts @火星'));
    expect(await reply('sunqi', 3)).toMatch(/火星/);
    expect(parseDuration('2小时')).toBe(7_200_000);
    expect(parseDuration('1天2小时30分钟')).toBe(95_400_000);
    expect(parseDuration('两小时')).toBeUndefined();
  });

  it('shows a command\'s usage in Chinese, with examples', async () => {
    await bot.sender.deliver(bot.sender.text('zhouba', 'help deploy'));
    const usage = await reply('zhouba', 1);
    expect(usage).toContain('deploy <应用> <标签> [@环境]');
    expect(usage).toMatch(/例子：[\s\S]*deploy order-service 1\.4\.2 @prod/);
    expect(usage).not.toMatch(/<app>|<tag>|@env/);
  });

  it('answers whoami with the roles from config; unlisted users get the default role', async () => {
    await bot.sender.deliver(bot.sender.text('LiSi', 'whoami'));
    expect(await reply('lisi', 2)).toMatch(/角色：ops[\s\S]*可以批准：是/);
    await bot.sender.deliver(bot.sender.text('wangwu', '我是谁'));
    await waitFor(() => shown('wangwu').some((d) => /角色：viewer[\s\S]*可以批准：否/.test(d.content)), 5000);
  });

  it('runs a message WeCom delivers again (retry) only once', async () => {
    const callback = bot.sender.text('zhangsan', 'whoami');
    const before = shown('zhangsan').length;
    for (let i = 0; i < 4; i++) expect((await bot.sender.deliver(callback)).status).toBe(200);
    await waitFor(() => shown('zhangsan').length > before);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(shown('zhangsan').length).toBe(before + 1);
  });

  it('treats a retry with a fresh envelope (same MsgId) as the same message', async () => {
    const msgId = nextMsgId();
    const xml = textXml({ corpId: WECOM.corpId, from: 'lisi', content: 'whoami', msgId, agentId: WECOM.agentId });
    const before = shown('lisi').length;
    await bot.sender.deliver(bot.sender.envelope(xml));
    await bot.sender.deliver(bot.sender.envelope(xml));
    await waitFor(() => shown('lisi').length > before);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(shown('lisi').length).toBe(before + 1);
  });

  it('points non-text messages at help and runs no event', async () => {
    const image = `<xml><ToUserName>${WECOM.corpId}</ToUserName><FromUserName>wangwu</FromUserName><CreateTime>${Math.floor(Date.now() / 1000)}</CreateTime><MsgType>image</MsgType><PicUrl>http://x/y.png</PicUrl><MsgId>${nextMsgId()}</MsgId><AgentID>${WECOM.agentId}</AgentID></xml>`;
    const before = shown('wangwu').length;
    await bot.sender.deliver(bot.sender.envelope(image));
    expect(await reply('wangwu', before + 1)).toContain('发送 help');
    const enter = eventXml({ corpId: WECOM.corpId, from: 'wangwu', event: 'enter_agent', agentId: WECOM.agentId });
    expect((await bot.sender.deliver(bot.sender.envelope(enter))).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(shown('wangwu').length).toBe(before + 1);
  });
});

describe('forged, tampered, replayed and malformed callbacks', () => {
  const now = () => String(Math.floor(Date.now() / 1000));
  const signed = (encrypted: string, timestamp = now(), nonce = '12345', token = WECOM.token): Record<string, string> => ({
    msg_signature: wecomSign(token, timestamp, nonce, encrypted),
    timestamp,
    nonce,
  });
  const body = (encrypted: string, agentId = WECOM.agentId) =>
    `<xml><ToUserName><![CDATA[${WECOM.corpId}]]></ToUserName><Encrypt><![CDATA[${encrypted}]]></Encrypt><AgentID><![CDATA[${agentId}]]></AgentID></xml>`;
  const helpXml = (from: string, agentId = WECOM.agentId) => textXml({ corpId: WECOM.corpId, from, content: 'help', msgId: nextMsgId(), agentId });

  const cases: [string, () => RawCallback, number][] = [
    ['a signature made with another token', () => {
      const encrypted = wecomEncrypt(WECOM.aesKey, WECOM.corpId, helpXml('attacker1'));
      return { query: signed(encrypted, now(), '1', 'guessedToken'), body: body(encrypted) };
    }, 403],
    ['a ciphertext changed after signing', () => {
      const encrypted = wecomEncrypt(WECOM.aesKey, WECOM.corpId, helpXml('attacker2'));
      const query = signed(encrypted);
      const flipped = `${encrypted.slice(0, 20)}${encrypted[20] === 'A' ? 'B' : 'A'}${encrypted.slice(21)}`;
      return { query, body: body(flipped) };
    }, 403],
    ['a message encrypted for another corp', () => {
      const encrypted = wecomEncrypt(WECOM.aesKey, 'wwothercorp', helpXml('attacker3'));
      return { query: signed(encrypted), body: body(encrypted) };
    }, 403],
    ['a message encrypted with another key', () => {
      const encrypted = wecomEncrypt('zyxwvutsrqponmlkjihgfedcba9876543210ABCDEFG', WECOM.corpId, helpXml('attacker4'));
      return { query: signed(encrypted), body: body(encrypted) };
    }, 400],
    ['an authentic message signed ten minutes ago (replay)', () => {
      const encrypted = wecomEncrypt(WECOM.aesKey, WECOM.corpId, helpXml('attacker5'));
      return { query: signed(encrypted, String(Math.floor(Date.now() / 1000) - 600)), body: body(encrypted) };
    }, 403],
    ['a message for another app of the corp', () => {
      const encrypted = wecomEncrypt(WECOM.aesKey, WECOM.corpId, helpXml('attacker6', 1000099));
      return { query: signed(encrypted), body: body(encrypted, 1000099) };
    }, 403],
    ['no signature', () => ({ query: { timestamp: now(), nonce: '1' }, body: '<xml/>' }), 400],
    ['a body that is not XML', () => ({ query: signed('abc'), body: 'hello' }), 400],
    ['an XML bomb (DOCTYPE with entities)', () => ({
      query: signed('abc'),
      body: '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><xml><Encrypt>&b;</Encrypt></xml>',
    }), 400],
    ['a body over the size limit', () => ({ query: signed('abc'), body: `<xml><Encrypt>${'A'.repeat(200_000)}</Encrypt></xml>` }), 413],
    ['inner XML without a sender', () => {
      const encrypted = wecomEncrypt(WECOM.aesKey, WECOM.corpId, '<xml><MsgType>text</MsgType><Content>help</Content></xml>');
      return { query: signed(encrypted), body: body(encrypted) };
    }, 400],
  ];

  for (const [name, build, status] of cases) {
    it(`refuses ${name} with ${status} and runs nothing`, async () => {
      const before = bot.fake.deliveries.length;
      const answer = await bot.sender.deliver(build(), false);
      expect(answer.status).toBe(status);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(bot.fake.deliveries.length).toBe(before);
    });
  }

  it('refuses a forged URL verification', async () => {
    const { request } = bot.sender.verification();
    request.query.msg_signature = '0'.repeat(40);
    expect((await bot.sender.deliver(request, false)).status).toBe(403);
  });

  it('is still healthy afterwards and counts what it refused', async () => {
    const health = await fetch(`${bot.wekube.url}/healthz`);
    expect(health.status).toBe(200);
    const metrics = await (await fetch(`${bot.wekube.url}/metrics`)).text();
    expect(metrics).toMatch(/wekube_wecom_callbacks_total\{result="forged"\} [1-9]/);
    expect(metrics).toMatch(/wekube_wecom_callbacks_total\{result="stale"\} 1/);
    expect(metrics).not.toContain(WECOM.secret);
    const ready = await (await fetch(`${bot.wekube.url}/readyz`)).json();
    expect(ready).toMatchObject({ ready: true, checks: { store: { ok: true }, wecom: { ok: true } } });
  });
});
