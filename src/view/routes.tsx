/** @jsxImportSource preact */
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type Router from '@koa/router';
import type { Context } from 'koa';
import type { Logger } from 'pino';
import type { Access } from '../chat/access.js';
import { translate, type Locale } from '../chat/i18n.js';
import type { Config } from '../config/load.js';
import type { AlertClaims } from '../alerts/claims.js';
import type { AlertEngine } from '../alerts/engine.js';
import type { DrillRuns } from '../drills/runs.js';
import { AlertsPage, type AlertFilter } from './alerts-page.js';
import { LOGIN_TTL_MS, SESSION_TTL_MS, type ViewAuth } from './auth.js';
import { DrillPage } from './drill-page.js';
import { html, Message } from './layout.js';

/**
 * The most alerts one page reads from the store: a storm of thousands fits, and reading them keeps the event loop
 * free for callbacks and webhooks (tens of milliseconds). The page says when there were more.
 */
const MAX_ALERTS = 5_000;
/** The longest window a page shows (a digest's is its digest window; a longer one is asked for by hand). */
const MAX_WINDOW_MS = 24 * 3_600_000;
/** A page opened without a window shows the last hour. */
const DEFAULT_WINDOW_MS = 3_600_000;

const SESSION_COOKIE = 'wekube_view';
const LOGIN_COOKIE = 'wekube_login';

export interface ViewParts {
  config: Config;
  auth: ViewAuth;
  access: Access;
  alerts: AlertEngine;
  claims: AlertClaims;
  drills?: DrillRuns;
  now: () => number;
  logger: Logger;
}

/**
 * `GET /view/…`: pages for people (SPEC §3). Every page needs a session; a link's token or WeCom's web login gives
 * one (auth.ts). The page's command must be allowed to the user as in the chat.
 */
export function mountViews(router: Router, parts: ViewParts): void {
  const { auth, access } = parts;

  /** The user of this request, or undefined when the answer (a redirect or a refusal) has been given. */
  async function viewer(ctx: Context, locale: Locale): Promise<string | undefined> {
    const token = typeof ctx.query.t === 'string' ? ctx.query.t : undefined;
    const linked = token !== undefined ? auth.linkUser(token) : undefined;
    if (linked) startSession(ctx, linked);
    const session = ctx.cookies.get(SESSION_COOKIE);
    const user = linked ?? (session ? auth.sessionUser(session) : undefined);
    if (user && token !== undefined) {
      // The token leaves the address at once: not in the history, not in what is shared from here.
      ctx.redirect(hrefWith(ctx, {}));
      return undefined;
    }
    if (user) return user;
    if (auth.canLogin) {
      const { state, url } = auth.startLogin();
      ctx.cookies.set(LOGIN_COOKIE, `${state}.${Buffer.from(hrefWith(ctx, {})).toString('base64url')}`, cookieOptions(ctx, LOGIN_TTL_MS));
      ctx.redirect(url);
      return undefined;
    }
    await refuse(ctx, locale, 401, 'view.noLogin');
    return undefined;
  }

  function startSession(ctx: Context, user: string): void {
    ctx.cookies.set(SESSION_COOKIE, auth.session(user), cookieOptions(ctx, SESSION_TTL_MS));
  }

  /** Whether the user may use the page's command; else the refusal is the answer. */
  async function allowed(ctx: Context, locale: Locale, user: string, command: 'alerts' | 'drill'): Promise<boolean> {
    const decision = access.allows(access.user(user), { name: command, permission: command, environment: false });
    if (decision.ok) return true;
    parts.logger.info({ user, command }, 'page refused: the roles do not allow its command');
    await refuse(ctx, locale, 403, 'view.forbidden', { roles: access.user(user).roles.join(', '), command });
    return false;
  }

  router.get('/view/login', async (ctx) => {
    const locale = parts.config.locale;
    const kept = ctx.cookies.get(LOGIN_COOKIE) ?? '';
    const [state, back] = kept.split('.');
    ctx.cookies.set(LOGIN_COOKIE, null, cookieOptions(ctx, 0));
    const code = typeof ctx.query.code === 'string' ? ctx.query.code : '';
    if (!auth.canLogin || !state || ctx.query.state !== state || !code) return refuse(ctx, locale, 400, 'view.loginFailed');
    const result = await auth.finishLogin(code);
    if (!result.member) {
      parts.logger.info({ reason: result.reason }, 'page login refused');
      return refuse(ctx, locale, result.reason === 'outsider' ? 403 : 400, result.reason === 'outsider' ? 'view.outsider' : 'view.loginFailed');
    }
    startSession(ctx, result.userid);
    const target = back ? Buffer.from(back, 'base64url').toString() : '/view/alerts';
    // Only back to a page of ours: never an open redirect.
    ctx.redirect(target.startsWith('/view/') && !target.startsWith('/view/login') ? target : '/view/alerts');
  });

  router.get('/view/alerts', async (ctx) => {
    const locale = localeOf(ctx, parts.config.locale);
    const user = await viewer(ctx, locale);
    if (!user || !(await allowed(ctx, locale, user, 'alerts'))) return;
    const now = parts.now();
    const to = timeParam(ctx.query.to) ?? now;
    const from = Math.max(Math.min(timeParam(ctx.query.from) ?? to - DEFAULT_WINDOW_MS, to), to - MAX_WINDOW_MS);
    const { alerts, more } = await parts.alerts.seenBetween(from, to, MAX_ALERTS);
    const status = ctx.query.status === 'firing' || ctx.query.status === 'resolved' ? ctx.query.status : undefined;
    const filter: AlertFilter = { app: textParam(ctx.query.app), severity: textParam(ctx.query.severity), status };
    await page(
      ctx,
      <AlertsPage
        locale={locale}
        timezone={parts.config.timezone}
        user={user}
        from={from}
        to={to}
        alerts={alerts}
        more={more}
        claims={await parts.claims.all()}
        alertmanagerURL={parts.alerts.alertmanagerURL}
        filter={filter}
        page={Number(textParam(ctx.query.page) ?? 1) || 1}
        retentionHours={Math.round(parts.alerts.resolvedRetentionMs / 3_600_000)}
        href={(changes) => hrefWith(ctx, { ...(changes.page ? {} : { page: undefined }), ...changes })}
      />,
    );
  });

  router.get('/view/drills/:id', async (ctx) => {
    const locale = localeOf(ctx, parts.config.locale);
    const user = await viewer(ctx, locale);
    if (!user || !(await allowed(ctx, locale, user, 'drill'))) return;
    const run = /^\d{1,9}$/.test(ctx.params.id ?? '') ? await parts.drills?.get(Number(ctx.params.id)) : undefined;
    if (!run) return refuse(ctx, locale, 404, 'view.notFound');
    await page(ctx, <DrillPage locale={locale} timezone={parts.config.timezone} user={user} run={run} now={parts.now()} href={(changes) => hrefWith(ctx, changes)} />);
  });
}

/** Answers the page, gzipped when the browser takes it (a storm's page shrinks from about 60 KiB to under 10). */
async function page(ctx: Context, body: preact.VNode): Promise<void> {
  ctx.set(PAGE_HEADERS);
  ctx.vary('Accept-Encoding');
  ctx.type = 'text/html; charset=utf-8';
  const text = html(body);
  if (ctx.acceptsEncodings('gzip', 'identity') !== 'gzip') {
    ctx.body = text;
    return;
  }
  ctx.set('Content-Encoding', 'gzip');
  ctx.body = await gzipped(text);
}

const gzipped = promisify(gzip);

/** A page that says why not: a refusal, a failed login, a missing page. */
async function refuse(ctx: Context, locale: Locale, status: number, key: 'view.noLogin' | 'view.forbidden' | 'view.loginFailed' | 'view.outsider' | 'view.notFound', params: Record<string, string> = {}): Promise<void> {
  const title = status === 404 ? translate(locale, 'view.notFound') : status === 403 ? translate(locale, 'view.forbiddenTitle') : 'wekube';
  await page(ctx, <Message locale={locale} title={title} text={translate(locale, key, params)} />);
  ctx.status = status;
}

/** Private pages: never cached, never framed, no script at all, nothing loaded from elsewhere. */
const PAGE_HEADERS = {
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
};

function cookieOptions(ctx: Context, maxAge: number) {
  return { httpOnly: true, sameSite: 'lax' as const, path: '/view', secure: ctx.secure, overwrite: true, maxAge };
}

const localeOf = (ctx: Context, fallback: Locale): Locale => (ctx.query.lang === 'en' ? 'en' : ctx.query.lang === 'zh-CN' ? 'zh-CN' : fallback);
const textParam = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value.slice(0, 200) : undefined);
const timeParam = (value: unknown): number | undefined => (typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : undefined);

/** This page's path and query with some parameters changed (undefined removes one), never with a link's token. */
function hrefWith(ctx: Context, changes: Record<string, string | undefined>): string {
  const url = new URL(ctx.href);
  url.searchParams.delete('t');
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) url.searchParams.delete(key);
    else url.searchParams.set(key, value);
  }
  return `${url.pathname}${url.search}`;
}
