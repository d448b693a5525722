// The ceiling of bench/callback-ceiling.ts: a Koa server that leaves its event loop nothing but HTTP. Each callback's
// query and body go to a worker thread (ceiling-worker.ts) that runs wekube's own checks and store on it: the
// signature, the decryption, the XML, the inbox row, the group commit and its fsync. The answer comes once the
// worker says the row is durable. Nothing is run afterwards. `--fsync off` skips the fsync (not durable).
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import Router from '@koa/router';
import Koa from 'koa';
import getRawBody from 'raw-body';
import { WECOM } from '../test/helpers/bot.js';
import type { Job, Outcome } from './ceiling-worker.js';

const fsync = process.argv[process.argv.indexOf('--fsync') + 1] !== 'off';
const dataDir = mkdtempSync(join(tmpdir(), 'wekube-ceiling-'));
// A worker thread does not inherit tsx's loader: it registers it before importing the TypeScript.
const entry = new URL('./ceiling-worker.ts', import.meta.url).href;
const worker = new Worker(`import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`, {
  eval: true,
  workerData: { ...WECOM, dataDir, fsync },
});
worker.on('error', (error) => {
  process.stderr.write(`the ceiling's worker failed: ${error.stack ?? error}\n`);
  process.exit(1);
});

// Jobs go to the worker in one message per turn of the event loop, answers come back the same way.
let nextId = 0;
const queued: Job[] = [];
const waiting = new Map<number, (outcome: Outcome) => void>();
worker.on('message', (outcomes: Outcome[]) => {
  for (const outcome of outcomes) {
    waiting.get(outcome.id)?.(outcome);
    waiting.delete(outcome.id);
  }
});
function accept(job: Omit<Job, 'id'>): Promise<Outcome> {
  const id = nextId++;
  if (queued.length === 0) setImmediate(() => worker.postMessage(queued.splice(0)));
  queued.push({ ...job, id });
  return new Promise((resolve) => waiting.set(id, resolve));
}

const app = new Koa();
const router = new Router();
const read = (value: unknown) => (typeof value === 'string' ? value : '');
router.post('/wecom/callback', async (ctx) => {
  const body = await getRawBody(ctx.req, { limit: 64 * 1024, encoding: 'utf8' });
  const outcome = await accept({ signature: read(ctx.query.msg_signature), timestamp: read(ctx.query.timestamp), nonce: read(ctx.query.nonce), body });
  ctx.status = outcome.status;
  ctx.body = '';
});
app.use(router.routes());
const server = app.listen(0, '127.0.0.1', () => process.send?.(server.address() as AddressInfo));
process.on('SIGTERM', () =>
  server.close(() => {
    rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  }),
);
