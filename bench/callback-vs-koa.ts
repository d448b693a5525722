// Callback throughput and latency side by side with a bare Koa server on the same machine: the same load generator
// (autocannon), the same connections, the same pre-signed callback bodies, one after the other in one run. The bare
// server reads the body and answers an empty 200; wekube verifies, decrypts, stores durably and then answers.
// Run: npm run bench -- callback-vs-koa [--connections 8] [--seconds 10]
import { fork } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { CallbackSender } from '../test/fakes/callback-sender.js';
import { FakeWecom } from '../test/fakes/wecom-server.js';
import { WECOM, writeConfig } from '../test/helpers/bot.js';
import { startWekubeProcess } from '../test/helpers/process.js';
import { report } from './report.js';

interface Load {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  total: number;
}

async function load(url: string, bodies: { path: string; body: string }[], connections: number, seconds: number): Promise<Load> {
  let next = 0;
  const result = await autocannon({
    url,
    connections,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        setupRequest: (request) => {
          const item = bodies[next++ % bodies.length]!;
          return { ...request, method: 'POST', path: item.path, body: item.body, headers: { 'content-type': 'text/xml' } };
        },
      },
    ],
  });
  return { requestsPerSecond: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx, errors: result.errors, total: result.requests.total };
}

/** The bare Koa server, in its own process as wekube is. */
async function startBareKoa(): Promise<{ url: string; stop(): void }> {
  const child = fork(new URL('./bare-koa.ts', import.meta.url).pathname, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve) => child.once('message', (message) => resolve((message as AddressInfo).port)));
  return { url: `http://127.0.0.1:${port}`, stop: () => child.kill('SIGTERM') };
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { connections: { type: 'string', default: '8' }, seconds: { type: 'string', default: '10' } } });
  const connections = Number(values.connections);
  const seconds = Number(values.seconds);
  const users = Array.from({ length: 2000 }, (_, i) => `user${i}`);
  const fake = new FakeWecom({ corpId: WECOM.corpId, apps: [{ agentId: WECOM.agentId, secret: WECOM.secret }], users });
  await fake.start();
  const { file } = writeConfig({ apiBase: fake.url });
  const wekube = await startWekubeProcess(file, 'built');
  const sender = new CallbackSender({ url: wekube.url, ...WECOM });
  // Enough distinct messages that none repeats within the run (a repeat would take the cheaper duplicate path).
  const bodies = Array.from({ length: 120_000 }, (_, i) => {
    const callback = sender.text(users[i % users.length]!, `bench-${i}`);
    return { path: `/wecom/callback?${new URLSearchParams(callback.query).toString()}`, body: callback.body! };
  });
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
  const row = (name: string, figures: Load) => `${figures.requestsPerSecond.toFixed(0).padStart(8)} req/s  p50 ${String(figures.p50).padStart(4)} ms  p99 ${String(figures.p99).padStart(4)} ms  non-2xx ${figures.non2xx}  errors ${figures.errors}  (${name})`;
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
