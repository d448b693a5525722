// The baseline of bench/callback-vs-koa.ts: a bare Koa server that reads a POST body and answers an empty 200.
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import getRawBody from 'raw-body';

const app = new Koa();
app.use(async (ctx) => {
  await getRawBody(ctx.req, { limit: 64 * 1024, encoding: 'utf8' });
  ctx.status = 200;
  ctx.body = '';
});
const server = app.listen(0, '127.0.0.1', () => process.send?.(server.address() as AddressInfo));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
