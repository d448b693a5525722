// How far the callback path could go on this machine if its event loop did nothing but HTTP: a bare Koa server
// against ceiling-server.ts, which hands every callback to a worker thread running wekube's own checks and inbox
// (signature, decryption, XML, the row, the group commit, the fsync) and answers once the row is durable; then the
// same without the fsync. Nothing is run after the ack, so this is an upper bound for any server that moves the
// callback's work off the event loop, not a figure of wekube itself (callback-vs-koa is that).
// Run: npm run bench -- callback-ceiling [--connections 8] [--seconds 10]
import { parseArgs } from 'node:util';
import { load, row, signedBodies, startBareKoa, startBenchServer } from './callback-load.js';
import { report } from './report.js';

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { connections: { type: 'string', default: '8' }, seconds: { type: 'string', default: '10' } } });
  const connections = Number(values.connections);
  const seconds = Number(values.seconds);
  const users = Array.from({ length: 2000 }, (_, i) => `user${i}`);
  const bodies = signedBodies(users, 120_000);
  const measure = async (server: { url: string; stop(): void }) => {
    await load(server.url, bodies.slice(-3000), connections, 2);
    const figures = await load(server.url, bodies.slice(0, 110_000), connections, seconds);
    server.stop();
    return figures;
  };
  const bare = await measure(await startBareKoa());
  const durable = await measure(await startBenchServer('./ceiling-server.ts'));
  const volatile = await measure(await startBenchServer('./ceiling-server.ts', ['--fsync', 'off']));
  report(
    `callbacks: the ceiling of a server whose event loop only does HTTP, autocannon, ${connections} connections, ${seconds} s each`,
    {
      'bare Koa (empty 200)': row('reads the body', bare),
      'worker, durable': row('HTTP on the loop; checks, row, commit, fsync on a worker', durable),
      'worker, no fsync': row('the same without the fsync', volatile),
      'durable / bare Koa (req/s)': (durable.requestsPerSecond / bare.requestsPerSecond).toFixed(3),
      'no fsync / bare Koa (req/s)': (volatile.requestsPerSecond / bare.requestsPerSecond).toFixed(3),
    },
    { name: 'callback-ceiling', connections, seconds, bare, durable, volatile },
  );
}
