// Callback throughput and latency side by side with a bare Koa server on the same machine: the same load generator
// (autocannon), the same connections, the same pre-signed callback bodies, one after the other in one run. The bare
// server reads the body and answers an empty 200; wekube verifies, decrypts, stores durably and then answers.
// Run: npm run bench -- callback-vs-koa [--connections 8] [--seconds 10]
import { parseArgs } from 'node:util';
import { FakeWecom } from '../test/fakes/wecom-server.js';
import { WECOM, writeConfig } from '../test/helpers/bot.js';
import { startWekubeProcess } from '../test/helpers/process.js';
import { load, row, signedBodies, startBareKoa } from './callback-load.js';
import { report } from './report.js';

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { connections: { type: 'string', default: '8' }, seconds: { type: 'string', default: '10' } } });
  const connections = Number(values.connections);
  const seconds = Number(values.seconds);
  const users = Array.from({ length: 2000 }, (_, i) => `user${i}`);
  const fake = new FakeWecom({ corpId: WECOM.corpId, apps: [{ agentId: WECOM.agentId, secret: WECOM.secret }], users });
  await fake.start();
  const { file } = writeConfig({ apiBase: fake.url });
  const wekube = await startWekubeProcess(file, 'built');
  // Enough distinct messages that none repeats within the run (a repeat would take the cheaper duplicate path).
  const bodies = signedBodies(users, 120_000);
  const koa = await startBareKoa();
  await load(koa.url, bodies.slice(0, 2000), connections, 2);
  const bare = await load(koa.url, bodies, connections, seconds);
  koa.stop();
  const warm = await load(wekube.url, bodies.slice(-3000), connections, 2);
  // Every acked message is answered (an unknown command's hint): how long until the last answer reached WeCom.
  const answered = async (count: number) => {
    const deadline = performance.now() + 300_000;
    while (fake.deliveries.length < count) {
      if (performance.now() > deadline) throw new Error(`only ${fake.deliveries.length} of ${count} answers reached the fake WeCom in 5 minutes`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  await answered(Math.min(warm.total - warm.non2xx, 3000));
  const before = fake.deliveries.length;
  const loadStarted = performance.now();
  const ours = await load(wekube.url, bodies.slice(0, 110_000), connections, seconds);
  const answeredDuringLoad = fake.deliveries.length - before;
  await answered(before + ours.total - ours.non2xx);
  const drainSeconds = (performance.now() - loadStarted) / 1000;
  await wekube.stop();
  await fake.stop();
  report(
    `callbacks: wekube against a bare Koa server, autocannon, ${connections} connections, ${seconds} s each`,
    {
      'bare Koa (empty 200)': row('reads the body', bare),
      'wekube /wecom/callback': row('verify, decrypt, store durably, ack', ours),
      'wekube / bare Koa (req/s)': (ours.requestsPerSecond / bare.requestsPerSecond).toFixed(3),
      'answers sent to WeCom': `${answeredDuringLoad} during the load; the last of ${ours.total - ours.non2xx} ${drainSeconds.toFixed(1)} s after it began (${((ours.total - ours.non2xx) / drainSeconds).toFixed(0)} answers/s)`,
    },
    { name: 'callback-vs-koa', connections, seconds, bare, wekube: ours, ratio: ours.requestsPerSecond / bare.requestsPerSecond, answeredDuringLoad, drainSeconds },
  );
}
