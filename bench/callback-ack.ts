// Callback ack latency under load: the bot runs as its own process (as in production) against the fake WeCom;
// this process posts pre-encrypted callbacks with a fixed concurrency and times each answer, and the time until
// the reply reaches the fake. Run: npm run bench -- callback-ack [--requests 5000] [--concurrency 32]
import { parseArgs } from 'node:util';
import { CallbackSender, type RawCallback } from '../test/fakes/callback-sender.js';
import { FakeWecom } from '../test/fakes/wecom-server.js';
import { WECOM, writeConfig } from '../test/helpers/bot.js';
import { startWekubeProcess } from '../test/helpers/process.js';
import { percentile, report } from './report.js';

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { requests: { type: 'string', default: '5000' }, concurrency: { type: 'string', default: '32' } } });
  const total = Number(values.requests);
  const concurrency = Number(values.concurrency);
  const users = Array.from({ length: 500 }, (_, i) => `user${i}`);
  const fake = new FakeWecom({ corpId: WECOM.corpId, apps: [{ agentId: WECOM.agentId, secret: WECOM.secret }], users });
  await fake.start();
  const { file } = writeConfig({ apiBase: fake.url });
  const wekube = await startWekubeProcess(file, 'built');
  const url = wekube.url;
  const sender = new CallbackSender({ url, ...WECOM });

  const build = (count: number, prefix: string) =>
    Array.from({ length: count }, (_, i) => ({ user: users[i % users.length]!, text: `${prefix}-${i}` })).map(({ user, text }) => ({
      user,
      text,
      callback: sender.text(user, text) as RawCallback,
    }));

  async function load(batch: ReturnType<typeof build>) {
    const latencies: number[] = [];
    const sentAt = new Map<string, number>();
    let next = 0;
    let failures = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < batch.length) {
          const item = batch[next++]!;
          sentAt.set(item.text, Date.now());
          const answer = await sender.deliver(item.callback, false);
          if (answer.status !== 200) failures++;
          latencies.push(answer.ms);
        }
      }),
    );
    return { latencies, sentAt, failures, seconds: (performance.now() - started) / 1000 };
  }

  await load(build(300, 'warmup'));
  const result = await load(build(total, 'load'));
  // Time to reply: until the fake has the reply that echoes the text.
  const deadline = Date.now() + 120_000;
  const replyMs: number[] = [];
  while (Date.now() < deadline) {
    const delivered = fake.deliveries.filter((d) => d.content.includes('“load-'));
    if (delivered.length >= total) {
      for (const delivery of delivered) {
        const text = /“(load-\d+)”/.exec(delivery.content)![1]!;
        replyMs.push(delivery.at - result.sentAt.get(text)!);
      }
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await wekube.stop();
  await fake.stop();

  report('callback ack latency (wekube process, fake WeCom, loopback)', {
    requests: total,
    concurrency,
    'non-200 answers': result.failures,
    'throughput (callbacks/s)': (total / result.seconds).toFixed(0),
    'ack p50 (ms)': percentile(result.latencies, 50).toFixed(2),
    'ack p99 (ms)': percentile(result.latencies, 99).toFixed(2),
    'ack max (ms)': Math.max(...result.latencies).toFixed(2),
    'replies delivered': `${replyMs.length}/${total}`,
    'callback to reply p50 (ms)': replyMs.length ? percentile(replyMs, 50).toFixed(0) : 'n/a',
    'callback to reply p99 (ms)': replyMs.length ? percentile(replyMs, 99).toFixed(0) : 'n/a',
  });
}
