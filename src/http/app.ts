import Router from '@koa/router';
import Koa from 'koa';
import type { Logger } from 'pino';
import type { Metrics } from './metrics.js';

export interface Readiness {
  ready: boolean;
  /** One entry per part (store, config, wecom, each cluster): ok or what is wrong. */
  checks: Record<string, { ok: boolean; detail?: string }>;
}

export interface HttpOptions {
  logger: Logger;
  metrics: Metrics;
  readiness: () => Readiness | Promise<Readiness>;
  /** Adds the routes of the parts that are enabled (WeCom callback, Alertmanager intake). */
  mount: ((router: Router) => void)[];
}

/** The Koa app: error boundary, access log, then the routes of SPEC §3. */
export function createHttpApp(options: HttpOptions): Koa {
  const app = new Koa({ proxy: true });
  const router = new Router();
  const { logger } = options;

  app.use(async (ctx, next) => {
    const started = Date.now();
    try {
      await next();
    } catch (error) {
      // Never a stack trace on the wire; the log has it.
      const status = (error as { status?: number; expose?: boolean }).status;
      const expose = (error as { expose?: boolean }).expose && status && status < 500;
      ctx.status = status && status >= 400 && status < 600 ? status : 500;
      ctx.type = 'text/plain';
      ctx.body = expose ? (error as Error).message : ctx.status >= 500 ? 'internal error' : 'bad request';
      if (ctx.status >= 500) logger.error({ err: error, path: ctx.path }, 'request failed');
    }
    logger.debug({ method: ctx.method, path: ctx.path, status: ctx.status, ms: Date.now() - started }, 'http');
  });

  router.get('/healthz', (ctx) => {
    ctx.body = 'ok';
  });

  router.get('/readyz', async (ctx) => {
    const readiness = await options.readiness();
    ctx.status = readiness.ready ? 200 : 503;
    ctx.body = readiness;
  });

  router.get('/metrics', async (ctx) => {
    ctx.type = options.metrics.registry.contentType;
    ctx.body = await options.metrics.registry.metrics();
  });

  for (const mount of options.mount) mount(router);
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
