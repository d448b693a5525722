import { timingSafeEqual } from 'node:crypto';
import type Router from '@koa/router';
import type { Logger } from 'pino';
import getRawBody from 'raw-body';
import type { AlertEngine, IngestResult } from './engine.js';
import { webhookSchema } from './payload.js';

export type IntakeResult = 'accepted' | 'unauthorized' | 'malformed' | 'too-large' | 'store-failed';

export interface IntakeOptions {
  engine: AlertEngine;
  /** The bearer token Alertmanager must send; unset means no authentication (a warning at start-up). */
  token?: string;
  logger: Logger;
  bodyLimitBytes?: number;
  observe?: (result: IntakeResult, seconds: number, ingested?: IngestResult) => void;
}

const sameToken = (given: string, expected: string) => {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
};

/**
 * POST /alerts/alertmanager (SPEC §3): 200 only once the alerts are stored; 401 on a bad token; 400 on a payload
 * that can never be accepted (Alertmanager does not retry a 4xx); 5xx when storing failed, so it retries.
 */
export function mountAlertIntake(router: Router, options: IntakeOptions): void {
  router.post('/alerts/alertmanager', async (ctx) => {
    const started = process.hrtime.bigint();
    const finish = (result: IntakeResult, status: number, body: Record<string, unknown>, ingested?: IngestResult) => {
      ctx.status = status;
      ctx.body = body;
      options.observe?.(result, Number(process.hrtime.bigint() - started) / 1e9, ingested);
      if (status !== 200) options.logger.warn({ result, status, ip: ctx.ip, error: body.error }, 'alert webhook refused');
    };

    if (options.token) {
      const header = ctx.get('authorization');
      const match = /^Bearer\s+(.+)$/i.exec(header);
      if (!match || !sameToken(match[1]!.trim(), options.token)) {
        ctx.set('WWW-Authenticate', 'Bearer realm="wekube"');
        return finish('unauthorized', 401, { error: 'missing or wrong bearer token' });
      }
    }

    let text: string;
    try {
      text = await getRawBody(ctx.req, { limit: options.bodyLimitBytes ?? 32 * 1024 * 1024, encoding: 'utf8' });
    } catch (error) {
      const tooLarge = (error as { type?: string }).type === 'entity.too.large';
      if (tooLarge) ctx.set('Connection', 'close');
      return finish(tooLarge ? 'too-large' : 'malformed', tooLarge ? 413 : 400, { error: (error as Error).message });
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return finish('malformed', 400, { error: 'the body is not JSON' });
    }
    const parsed = webhookSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      return finish('malformed', 400, { error: `${issue.path.join('.') || 'body'}: ${issue.message}` });
    }

    let ingested: IngestResult;
    try {
      ingested = await options.engine.ingest(parsed.data);
    } catch (error) {
      options.logger.error({ err: error }, 'alerts could not be stored; answering 503 so Alertmanager retries');
      return finish('store-failed', 503, { error: 'could not store the alerts; retry' });
    }
    finish('accepted', 200, { status: 'ok', ...ingested }, ingested);
    // Immediate alerts go out now rather than at the next tick (which comes within a second anyway).
    void options.engine.tick();
  });
}
