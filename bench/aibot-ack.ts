// The 智能机器人 path under load: the bot runs as its own process against the fake WeCom; this process plays WeCom's
// AI-bot side, posting @wekube whoami from a group with a fixed concurrency, timing each ack (which carries the
// live message's first content), then polling each stream until its result is in it.
// Run: npm run bench -- aibot-ack [--requests 1000] [--concurrency 16]
import { parseArgs } from 'node:util';
import { AibotSender, type Shown } from '../test/fakes/aibot-sender.js';
import { FakeWecom } from '../test/fakes/wecom-server.js';
import { AIBOT, WECOM, writeConfig } from '../test/helpers/bot.js';
import { startWekubeProcess } from '../test/helpers/process.js';
import { percentile, report } from './report.js';

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { requests: { type: 'string', default: '1000' }, concurrency: { type: 'string', default: '16' } } });
  const total = Number(values.requests);
  const concurrency = Number(values.concurrency);
  const users = Array.from({ length: 200 }, (_, i) => `user${i}`);
  const fake = new FakeWecom({ corpId: WECOM.corpId, apps: [{ agentId: WECOM.agentId, secret: WECOM.secret }], users });
  await fake.start();
  const { file } = writeConfig({ apiBase: fake.url, aibot: true });
  const wekube = await startWekubeProcess(file, 'built');
  const wecom = new AibotSender({ url: wekube.url, ...AIBOT, fake, pollMs: 200 });

  async function load(count: number) {
    const acks: number[] = [];
    const finals: number[] = [];
    const shown: Shown[] = [];
    let next = 0;
    let failures = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < count) {
          const index = next++;
          const sent = performance.now();
          const asked = await wecom.say(users[index % users.length]!, 'whoami', { group: `wrkBench${index % 20}` });
          acks.push(performance.now() - sent);
          if (asked.status !== 200) failures++;
          shown.push(asked);
          void wecom.final(asked, 60_000).then(
            () => finals.push(performance.now() - sent),
            () => failures++,
          );
        }
      }),
    );
    const deadline = Date.now() + 120_000;
    while (finals.length + failures < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    return { acks, finals, failures, seconds: (performance.now() - started) / 1000, updates: shown.map((entry) => entry.versions.length) };
  }

  await load(100);
  const result = await load(total);
  await wecom.stop();
  await wekube.stop();
  await fake.stop();

  const figures = {
    requests: total,
    concurrency,
    'non-200 or unfinished': result.failures,
    'throughput (messages/s)': (total / result.seconds).toFixed(0),
    'ack p50 (ms)': percentile(result.acks, 50).toFixed(2),
    'ack p99 (ms)': percentile(result.acks, 99).toFixed(2),
    'ack max (ms)': Math.max(...result.acks).toFixed(2),
    'message to result in the live message p50 (ms)': percentile(result.finals, 50).toFixed(0),
    'message to result in the live message p99 (ms)': percentile(result.finals, 99).toFixed(0),
    'versions shown per live message (median)': percentile(result.updates, 50),
  };
  report('AI bot callback ack and live message (wekube process, fake WeCom, loopback)', figures, { name: 'aibot-ack' });
}
