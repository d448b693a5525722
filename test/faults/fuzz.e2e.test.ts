import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallbackSender, nextMsgId, textXml, type RawCallback } from '../fakes/callback-sender.js';
import { FakeWecom } from '../fakes/wecom-server.js';
import { WECOM, writeConfig } from '../helpers/bot.js';
import { memoryMiB, startWekubeProcess } from '../helpers/process.js';
import { waitFor } from '../helpers/wait.js';

// Fuzzing from outside, against wekube as its own process: generated query strings, bodies, chat texts, alert
// payloads and matchers, from a fixed seed so a failure is reproduced by running again. FUZZ_RUNS sets the inputs
// per target (CI keeps it small; a local soak raises it), FUZZ_SEED the seed. After every target: no answer was a
// 5xx, the process still runs, the event loop never stalled over 100 ms, and memory stayed bounded.

const RUNS = Number(process.env.FUZZ_RUNS ?? 250);
const SEED = Number(process.env.FUZZ_SEED ?? 20_261_126);
const STALL_LIMIT_SECONDS = 0.1;

/** Users who only ever send forged or tampered callbacks: nothing may ever reach them. */
const FORGERS = ['forger1', 'forger2'];
/** Fresh senders for generated commands, so WeCom's 30 a minute per member never holds their answers back. */
const SENDERS = Array.from({ length: 400 }, (_, i) => `fz${i}`);

let fake: FakeWecom;
let bot: Awaited<ReturnType<typeof startWekubeProcess>>;
let sender: CallbackSender;
/** Userids whose signed messages were accepted: the only people the bot may write to. */
const asked = new Set<string>();
const stalls: { target: string; seconds: number }[] = [];
const figures: string[] = [];

beforeAll(async () => {
  fake = new FakeWecom({ corpId: WECOM.corpId, apps: [{ agentId: WECOM.agentId, secret: WECOM.secret }], users: ['zhangsan', 'lisi', ...FORGERS, ...SENDERS] });
  await fake.start();
  const { file } = writeConfig({ apiBase: fake.url, extra: { alerts: { digestWindow: '2s' } } });
  bot = await startWekubeProcess(file);
  sender = new CallbackSender({ url: bot.url, ...WECOM, retries: 0 });
  await lagSince(); // starts the window
});

afterAll(async () => {
  console.info(`fuzz (seed ${SEED}, ${RUNS} inputs per target): ${figures.join('; ')}`);
  await bot?.stop();
  await fake?.stop();
});

/** The longest event-loop delay since the last call, in seconds, as the process reports it. */
async function lagSince(): Promise<number> {
  const text = await (await fetch(`${bot.url}/metrics`)).text();
  return Number(/^wekube_nodejs_eventloop_lag_max_seconds (\S+)$/m.exec(text)?.[1] ?? 0);
}

async function afterTarget(target: string, inputs: number): Promise<void> {
  expect(bot.child.exitCode).toBeNull();
  expect((await fetch(`${bot.url}/healthz`)).status).toBe(200);
  const lag = await lagSince();
  stalls.push({ target, seconds: lag });
  figures.push(`${target} ${inputs} inputs, longest stall ${Math.round(lag * 1000)} ms, RSS ${Math.round(memoryMiB(bot.child.pid!, 'VmRSS'))} MiB`);
  expect(lag, `event loop stalled during ${target}`).toBeLessThan(STALL_LIMIT_SECONDS);
  expect(memoryMiB(bot.child.pid!, 'VmRSS')).toBeLessThan(400);
}

async function post(callback: RawCallback): Promise<number> {
  return (await sender.deliver(callback, false)).status;
}

async function raw(path: string, init: RequestInit): Promise<number> {
  const response = await fetch(`${bot.url}${path}`, init);
  await response.arrayBuffer();
  return response.status;
}

const hex40 = fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 40, maxLength: 40 });
const queryValue = fc.oneof(fc.string({ maxLength: 80 }), hex40, fc.nat().map(String), fc.constant(''), fc.string({ unit: 'binary', maxLength: 30 }));
const weird = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.constantFrom('__proto__', 'constructor', 'toString', 'a|b', 'zhangsan|lisi', '', ' ', '\u0000', ']]>', '<x/>', '%s%n', '😀'.repeat(50)),
  fc.string({ maxLength: 3000 }),
);

describe('fuzzing from outside', () => {
  it('callback query strings and unsigned bodies: only 4xx', async () => {
    let count = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(fc.constantFrom('msg_signature', 'timestamp', 'nonce', 'echostr', '__proto__', 'x'), queryValue, { maxKeys: 5 }),
        fc.oneof(weird, fc.constant('<xml><Encrypt><![CDATA[abcd]]></Encrypt></xml>'), fc.string({ maxLength: 200 }).map((s) => `<xml>${s}</xml>`)),
        fc.boolean(),
        async (query, body, get) => {
          count++;
          const search = new URLSearchParams(query as Record<string, string>).toString();
          const status = await raw(`/wecom/callback?${search}`, get ? { method: 'GET' } : { method: 'POST', body });
          expect(status).toBeGreaterThanOrEqual(400);
          expect(status).toBeLessThan(500);
        },
      ),
      { seed: SEED, numRuns: RUNS },
    );
    await afterTarget('callback query+body', count);
  });

  it('tampered and forged callbacks: never run, never 5xx', async () => {
    let count = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...FORGERS), fc.string({ maxLength: 50 }), fc.nat(), fc.constantFrom('signature', 'encrypt', 'timestamp', 'nonce', 'corp'), async (from, content, at, part) => {
        count++;
        const forger = part === 'corp' ? new CallbackSender({ url: bot.url, ...WECOM, corpId: 'wwsomeoneelse0000', retries: 0 }) : sender;
        const valid = forger.text(from, content || 'whoami');
        const query = { ...valid.query };
        let body = valid.body!;
        if (part === 'signature') query.msg_signature = query.msg_signature!.replace(/^./, (c) => (c === '0' ? '1' : '0'));
        if (part === 'timestamp') query.timestamp = String(Number(query.timestamp) + 1 + (at % 100));
        if (part === 'nonce') query.nonce = `${query.nonce}${at}`;
        if (part === 'encrypt') {
          body = body.replace(/<Encrypt><!\[CDATA\[(.)/, (_all, first: string) => `<Encrypt><![CDATA[${first === 'A' ? 'B' : 'A'}`);
        }
        const status = await post({ ...valid, query, body });
        expect(status).toBeGreaterThanOrEqual(400);
        expect(status).toBeLessThan(500);
      }),
      { seed: SEED, numRuns: RUNS },
    );
    await afterTarget('forged callbacks', count);
  });

  it('validly signed bodies with generated plaintext: 200 or 4xx, answers only to who asked', async () => {
    let count = 0;
    const plaintext = fc.oneof(
      weird,
      fc.record({ from: fc.oneof(fc.constantFrom(...SENDERS.slice(0, 50)), weird), content: weird, type: fc.constantFrom('text', 'event', 'image', 'voice', '__proto__'), extra: fc.oneof(fc.constant(''), weird.map((w) => `<${'x'.repeat(3)}>${w}</xxx>`)) }).map(
        ({ from, content, type, extra }) =>
          textXml({ corpId: WECOM.corpId, from, content, msgId: nextMsgId(), agentId: WECOM.agentId }).replace('<MsgType><![CDATA[text]]></MsgType>', `<MsgType><![CDATA[${type}]]></MsgType>${extra}`),
      ),
      fc.nat({ max: 300 }).map((depth) => `<xml>${'<a>'.repeat(depth)}${'</a>'.repeat(depth)}</xml>`),
    );
    await fc.assert(
      fc.asyncProperty(plaintext, async (plain) => {
        count++;
        const status = await post(sender.envelope(plain));
        expect([200, 400, 403, 413]).toContain(status);
        if (status === 200) {
          const from = /<FromUserName><!\[CDATA\[([^\]]*)\]\]>/.exec(plain)?.[1];
          if (from) asked.add(from.toLowerCase());
        }
      }),
      { seed: SEED, numRuns: RUNS },
    );
    await afterTarget('signed plaintext', count);
  });

  it('chat command texts: every one answered, none 5xx', async () => {
    const words = ['help', '帮助', 'whoami', 'deploy', 'rollback', 'status', 'history', 'scale', 'restart', 'subscribe', 'unsubscribe', 'alerts', 'silence', 'silences', 'confirm', 'approve', 'cancel', 'audit', '@prod', '@test', '@nowhere', '"', "'", '{', '}', '=~', 'app=', '1.0', '-1', '999999999999', '∞', '　'];
    const text = fc.oneof(
      fc.array(fc.oneof(fc.constantFrom(...words), fc.string({ maxLength: 30 })), { minLength: 1, maxLength: 8 }).map((tokens) => tokens.join(' ')),
      weird,
    );
    const sent: string[] = [];
    const texts = new Map<string, string>();
    let index = 0;
    await fc.assert(
      fc.asyncProperty(text, async (content) => {
        const user = SENDERS[50 + (index++ % (SENDERS.length - 50))]!;
        const status = await post(sender.text(user, content.replaceAll(']]>', ']] >')));
        expect(status).toBe(200);
        asked.add(user);
        sent.push(user);
        texts.set(user, `${texts.get(user) ?? ''} | ${content.slice(0, 100)}`);
      }),
      { seed: SEED, numRuns: RUNS },
    );
    // Every sender hears back (an answer, a refusal or a hint), within WeCom's limits.
    const unanswered = () => [...new Set(sent)].filter((user) => fake.shown(`user:${user}`).length === 0);
    await waitFor(() => unanswered().length === 0, 30_000).catch(() => undefined);
    expect(unanswered().map((user) => `${user}: ${texts.get(user)}`)).toEqual([]);
    await afterTarget('chat texts', sent.length);
  });

  it('alert payloads and subscription matchers: 200 or 400, no stall', async () => {
    let count = 0;
    const subscribers = SENDERS.slice(0, 20);
    const matcher = fc.oneof(
      fc.constantFrom('a=~"(a+)+$"', 'a=~"(x|x)*y"', 'a=~".*.*.*.*=.*"', 'app=~"(.*a){12}"', 'b!~"([a-z]+)*$"', '__proto__="x"', 'constructor=~".+"'),
      fc.tuple(fc.constantFrom('a', 'b', 'app'), fc.constantFrom('=', '!=', '=~', '!~'), fc.string({ maxLength: 40 })).map(([name, op, value]) => `${name}${op}${JSON.stringify(value)}`),
    );
    for (const [i, user] of subscribers.entries()) {
      const [text] = fc.sample(matcher, { seed: SEED + i, numRuns: 1 });
      expect(await post(sender.text(user, `subscribe ${text!}`))).toBe(200);
      asked.add(user);
    }
    const labels = fc.dictionary(fc.oneof(fc.constantFrom('a', 'b', 'app', 'alertname', 'severity', 'owner', '__proto__', 'constructor'), fc.string({ maxLength: 20 })), fc.oneof(fc.string({ maxLength: 50 }), fc.nat({ max: 3000 }).map((n) => 'a'.repeat(n))), { maxKeys: 8 });
    const alert = fc.record({
      status: fc.constantFrom('firing', 'resolved', 'pending'),
      labels,
      annotations: fc.oneof(labels, fc.constant(undefined)),
      startsAt: fc.constantFrom('2026-11-24T10:00:00Z', 'yesterday', ''),
      fingerprint: fc.oneof(fc.constantFrom('__proto__', 'toString', 'constructor', ''), fc.string({ maxLength: 70 })),
    });
    const payload = fc.oneof(
      fc.array(alert, { maxLength: 30 }).map((alerts) => JSON.stringify({ version: '4', status: 'firing', receiver: 'r', groupKey: 'g', externalURL: 'http://am', alerts })),
      fc.jsonValue().map((value) => JSON.stringify(value)),
      weird,
    );
    await fc.assert(
      fc.asyncProperty(payload, async (body) => {
        count++;
        const status = await raw('/alerts/alertmanager', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        expect([200, 400, 413]).toContain(status);
      }),
      { seed: SEED, numRuns: RUNS },
    );
    await afterTarget('alert payloads', count);
  });

  it('wrote to nobody who did not ask', async () => {
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const recipients = new Set(fake.deliveries.map((d) => d.to));
    for (const forger of FORGERS) expect(recipients.has(`user:${forger}`)).toBe(false);
    // Ops (lisi) hear of messages the bot had to give up (to generated userids WeCom does not know), and only that.
    const reports = fake.shown('user:lisi');
    expect(reports.every((d) => /未能送达/.test(d.content))).toBe(true);
    for (const recipient of recipients) if (recipient !== 'user:lisi') expect(recipient.startsWith('user:') && asked.has(recipient.slice(5)), recipient).toBe(true);
    expect(stalls.length).toBe(5);
  });
});
