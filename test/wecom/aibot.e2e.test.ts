import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AibotSender } from '../fakes/aibot-sender.js';
import { wecomEncrypt, wecomSign } from '../fakes/callback-sender.js';
import { AIBOT, Conversation, startBot, type TestBot } from '../helpers/bot.js';

// The team's group chat through the 智能机器人 (AI bot) in API mode: @wekube in a group of three, single chat with the
// bot, retries, forgeries, as WeCom's side (test/fakes/aibot-sender.ts) drives them.

const GROUP = 'wrkSFfCgAAtMQKg4xqDatM5C9IDHFpTw';
let bot: TestBot;
let wecom: AibotSender;

beforeAll(async () => {
  bot = await startBot({ aibot: true, fake: { chats: [GROUP] } });
  wecom = new AibotSender({ url: bot.wekube.url, ...AIBOT, fake: bot.fake });
});

afterAll(async () => {
  await wecom?.stop();
  await bot?.stop();
});

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${bot.wekube.url}/metrics`)).text();
  const line = text.split('\n').find((candidate) => candidate.startsWith(name));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('the AI bot in a group chat', () => {
  it('answers the URL verification with the receive id ""', async () => {
    const echo = '8791234567890123456';
    const encrypted = wecomEncrypt(AIBOT.aesKey, '', echo);
    const timestamp = String(Math.floor(Date.now() / 1000));
    const query = new URLSearchParams({ msg_signature: wecomSign(AIBOT.token, timestamp, 'n1', encrypted), timestamp, nonce: 'n1', echostr: encrypted });
    const response = await fetch(`${bot.wekube.url}/wecom/aibot?${query}`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(echo);
  });

  it('answers @wekube in the group as the user who asked, in one live message in that group', async () => {
    const asked = await wecom.say('zhangsan', 'whoami', { group: GROUP });
    expect(asked.status).toBe(200);
    // The first answer comes with the ack: the live message opens at once.
    expect(asked.versions[0]).toMatch(/处理中/);
    const text = await wecom.final(asked);
    expect(text).toMatch(/zhangsan/);
    expect(text).toMatch(/developer/);
    // Nothing went to anyone's app chat: the answer is the group's live message.
    expect(bot.fake.shown('user:zhangsan')).toHaveLength(0);
    const other = await wecom.final(await wecom.say('lisi', 'whoami', { group: GROUP }));
    expect(other).toMatch(/lisi/);
    expect(other).toMatch(/ops/);
  });

  it('runs help in single chat with the bot too', async () => {
    const text = await wecom.final(await wecom.say('wangwu', 'help'));
    expect(text).toMatch(/wekube 命令/);
    expect(text).toMatch(/whoami/);
  });

  it('reads a mixed message by its text, and answers an image with where the commands are', async () => {
    const mixed = JSON.stringify({ msgid: 'mixed-1', chattype: 'single', from: { userid: 'wangwu' }, msgtype: 'mixed', mixed: { msg_item: [{ msgtype: 'text', text: { content: 'whoami' } }, { msgtype: 'image', image: { url: 'https://example/x' } }] } });
    expect(await wecom.final(await wecom.deliver(mixed, { msgId: 'mixed-1', conversation: 'user:wangwu', from: 'wangwu' }))).toMatch(/wangwu/);
    const image = JSON.stringify({ msgid: 'image-1', chattype: 'single', from: { userid: 'wangwu' }, msgtype: 'image', image: { url: 'https://example/y' } });
    const answer = await wecom.post(wecom.envelope(image));
    expect(answer.reply?.stream).toMatchObject({ finish: true, content: expect.stringMatching(/help/) });
  });

  it('runs a message WeCom delivers again once, and shows the same live message', async () => {
    const before = await metric('wekube_commands_total{command="whoami",outcome="ok"}');
    const plain = JSON.stringify({ msgid: 'retry-1', chatid: GROUP, chattype: 'group', from: { userid: 'zhaoliu' }, response_url: bot.fake.aibotResponseUrl(`group:${GROUP}`), msgtype: 'text', text: { content: '@wekube whoami' } });
    const first = await wecom.deliver(plain, { msgId: 'retry-1', conversation: `group:${GROUP}`, from: 'zhaoliu' });
    await wecom.final(first);
    const again = await wecom.post(wecom.envelope(plain));
    expect(again.status).toBe(200);
    expect((again.reply?.stream as { content: string }).content).toMatch(/zhaoliu/);
    expect(await metric('wekube_commands_total{command="whoami",outcome="ok"}')).toBe(before + 1);
  });

  it('refuses a forged or tampered callback like an app callback, and runs nothing', async () => {
    const before = await metric('wekube_commands_total{command="whoami",outcome="ok"}');
    const plain = JSON.stringify({ msgid: 'forged-1', chattype: 'single', from: { userid: 'lisi' }, msgtype: 'text', text: { content: 'whoami' } });
    // Another bot's key: the signature (with our token) may even match, the receive id or padding does not.
    const otherKey = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
    expect((await wecom.post(wecom.envelope(plain, { aesKey: otherKey }))).status).toBeGreaterThanOrEqual(400);
    // A wrong signature.
    const envelope = wecom.envelope(plain);
    envelope.query.set('msg_signature', 'f'.repeat(40));
    expect((await wecom.post(envelope)).status).toBe(403);
    // The app's callback crypto (receive id = corp id) is not the AI bot's.
    const appStyle = wecomEncrypt(AIBOT.aesKey, 'wwa1b2c3d4e5f60708', plain);
    const timestamp = String(Math.floor(Date.now() / 1000));
    const query = new URLSearchParams({ msg_signature: wecomSign(AIBOT.token, timestamp, 'n2', appStyle), timestamp, nonce: 'n2' });
    const response = await fetch(`${bot.wekube.url}/wecom/aibot?${query}`, { method: 'POST', body: JSON.stringify({ encrypt: appStyle }) });
    expect(response.status).toBe(403);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await metric('wekube_commands_total{command="whoami",outcome="ok"}')).toBe(before);
    expect(await metric('wekube_aibot_callbacks_total{result="forged"}')).toBeGreaterThanOrEqual(2);
  });

  it('creates an app group chat for alert routes from the chat itself (ops only), and says the chat id to configure', async () => {
    const chat = new Conversation(bot);
    const created = await chat.ask('lisi', 'alerts chat create 值班群 zhaoliu wangwu', /已创建群聊/);
    const chatid = /chat id：(\w+)/.exec(created)![1]!;
    expect(created).toContain(`to: { chat: ${chatid} }`);
    expect(bot.fake.chatsCreated).toContainEqual({ chatid, name: '值班群', owner: 'lisi', userlist: ['lisi', 'zhaoliu', 'wangwu'] });
    // The new group got a first message, which says where commands go.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(bot.fake.shown(`chat:${chatid}`)[0]?.content).toMatch(/这里不能回复命令/);
    expect(await chat.ask('zhangsan', 'alerts chat create 我的群 lisi', /只有运维/)).toBeTruthy();
    expect(await chat.ask('lisi', 'alerts chat create 群 a|victim', /不是企业微信 userid/)).toBeTruthy();
    expect(await chat.ask('lisi', 'alerts chat create 群', /alerts chat create <群名>/)).toBeTruthy();
  });
});
