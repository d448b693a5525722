// What the callback benchmarks share: pre-signed callback bodies, the autocannon load, and the bare Koa baseline.
import { fork } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import autocannon from 'autocannon';
import { CallbackSender } from '../test/fakes/callback-sender.js';
import { WECOM } from '../test/helpers/bot.js';

export interface Load {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  total: number;
}

export type SignedBody = { path: string; body: string };

/** `count` distinct text callbacks from `users`, signed and encrypted as WeCom sends them (none repeats). */
export function signedBodies(users: readonly string[], count: number): SignedBody[] {
  const sender = new CallbackSender({ url: 'http://unused', ...WECOM });
  return Array.from({ length: count }, (_, i) => {
    const callback = sender.text(users[i % users.length]!, `bench-${i}`);
    return { path: `/wecom/callback?${new URLSearchParams(callback.query).toString()}`, body: callback.body! };
  });
}

/** POSTs the bodies in turn over `connections` keep-alive connections for `seconds`. */
export async function load(url: string, bodies: readonly SignedBody[], connections: number, seconds: number): Promise<Load> {
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

/** A server of bench/ in its own process, as wekube is: it sends its address once it listens. */
export async function startBenchServer(file: string, args: string[] = []): Promise<{ url: string; stop(): void }> {
  const child = fork(new URL(file, import.meta.url).pathname, args, { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (message) => resolve((message as AddressInfo).port));
    child.once('exit', (code) => reject(new Error(`${file} exited with ${code} before listening`)));
  });
  return { url: `http://127.0.0.1:${port}`, stop: () => child.kill('SIGTERM') };
}

/** The bare Koa server (bare-koa.ts): reads the body, answers an empty 200. */
export const startBareKoa = () => startBenchServer('./bare-koa.ts');

export const row = (name: string, figures: Load) =>
  `${figures.requestsPerSecond.toFixed(0).padStart(8)} req/s  p50 ${String(figures.p50).padStart(4)} ms  p99 ${String(figures.p99).padStart(4)} ms  non-2xx ${figures.non2xx}  errors ${figures.errors}  (${name})`;
