/** @jsxImportSource preact */
import { formatTime, translate, type Locale, type MessageKey, type Params } from '../chat/i18n.js';
import { sinceOf } from '../alerts/card.js';
import { claimHolds, type Claim } from '../alerts/claims.js';
import { groupOf, type StoredAlert } from '../alerts/engine.js';
import { severityRank } from '../alerts/render.js';
import { own } from '../config/own.js';
import { StackedBars, type Bucket, type Series } from './charts.js';
import { Header, Page } from './layout.js';

export const PAGE_SIZE = 50;

export interface AlertFilter {
  app?: string;
  severity?: string;
  status?: 'firing' | 'resolved';
}

export interface AlertsPageInput {
  locale: Locale;
  timezone: string;
  user: string;
  from: number;
  to: number;
  /** Every alert seen in the window (before the filter). */
  alerts: StoredAlert[];
  /** Whether the window held more alerts than were read. */
  more: boolean;
  claims: Map<string, Claim>;
  alertmanagerURL?: string;
  filter: AlertFilter;
  page: number;
  retentionHours: number;
  /** The address of this page with other query parameters (filters, page, language). */
  href: (changes: Record<string, string | undefined>) => string;
}

const SEVERITY_COLORS: Record<string, string> = { critical: '#d83931', high: '#f54a45', error: '#ff7d00', warning: '#ffc60a', info: '#3370ff' };
const OTHER_COLORS = ['#8f959e', '#7f3bf5', '#14c0ff', '#2ea121'];

const severityOf = (alert: StoredAlert): string => alert.labels.severity ?? 'none';
const httpUrl = (url: string | undefined): string | undefined => (url && /^https?:\/\//i.test(url) ? url : undefined);

export function AlertsPage(input: AlertsPageInput) {
  const { locale, filter } = input;
  const t = (key: MessageKey, params?: Params) => translate(locale, key, params);
  const time = (at: number | string) => formatTime(locale, input.timezone, new Date(at));
  const apps = [...new Set(input.alerts.map((alert) => alert.labels.app).filter((app): app is string => Boolean(app)))].sort();
  const severities = [...new Set(input.alerts.map(severityOf))].sort((a, b) => severityRank(a) - severityRank(b) || a.localeCompare(b));
  const shown = input.alerts.filter(
    (alert) => (!filter.app || alert.labels.app === filter.app) && (!filter.severity || severityOf(alert) === filter.severity) && (!filter.status || alert.status === filter.status),
  );
  const firing = shown.filter((alert) => alert.status === 'firing').length;
  const ordered = [...shown].sort(
    (a, b) => (a.status === b.status ? 0 : a.status === 'firing' ? -1 : 1) || severityRank(severityOf(a)) - severityRank(severityOf(b)) || Date.parse(b.startsAt) - Date.parse(a.startsAt),
  );
  const pages = Math.max(1, Math.ceil(ordered.length / PAGE_SIZE));
  const page = Math.min(Math.max(1, input.page), pages);
  const series: Series[] = severities.map((severity, index) => ({ key: severity, label: severity, color: own(SEVERITY_COLORS, severity) ?? OTHER_COLORS[index % OTHER_COLORS.length]! }));
  const timeline = buckets(shown, input.from, input.to, input.timezone);
  const firingSince = firingSinceOf(input.alerts);
  const title = t('view.alertsTitle');
  return (
    <Page locale={locale} title={`${title} · wekube`}>
      <Header locale={locale} title={title} href={input.href}>
        <p class="sub">{t('view.window', { from: time(input.from), to: time(input.to) })}</p>
        <p class="sub" data-counts>
          {t('view.counts', { total: shown.length, firing, resolved: shown.length - firing })}
        </p>
      </Header>
      <main>
        {input.more ? <p class="note">{t('view.more', { shown: input.alerts.length })}</p> : null}
        <section class="card">
          <p class="sub">{t('view.chartTitle', { bucket: timeline.minutes === 1 ? t('view.bucketMinute') : t('view.bucketMinutes', { n: timeline.minutes }) })}</p>
          <StackedBars buckets={timeline.buckets} series={series} label={t('view.chartLabel', { total: shown.length, from: time(input.from), to: time(input.to) })} />
        </section>
        <form class="filters card" method="get" action="/view/alerts">
          <input type="hidden" name="from" value={String(input.from)} />
          <input type="hidden" name="to" value={String(input.to)} />
          <input type="hidden" name="lang" value={locale} />
          <Choice name="app" label={t('view.filterApp')} any={t('view.any')} value={filter.app} options={apps.map((app) => [app, app])} />
          <Choice name="severity" label={t('view.filterSeverity')} any={t('view.any')} value={filter.severity} options={severities.map((severity) => [severity, severity])} />
          <Choice name="status" label={t('view.filterStatus')} any={t('view.any')} value={filter.status} options={[['firing', t('view.firing')], ['resolved', t('view.resolved')]]} />
          <button type="submit">{t('view.filter')}</button>
        </form>
        <section class="card" data-alerts>
          {ordered.length === 0 ? <p>{t('view.none')}</p> : null}
          {ordered.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE).map((alert) => (
            <AlertEntry key={alert.fingerprint} alert={alert} claim={claimOf(input.claims, firingSince, alert)} input={input} t={t} time={time} color={series.find((entry) => entry.key === severityOf(alert))?.color ?? '#8f959e'} />
          ))}
        </section>
        {pages > 1 ? (
          <nav class="pages">
            {page > 1 ? <a href={input.href({ page: String(page - 1) })}>{t('view.previous')}</a> : <span />}
            <span>{t('view.page', { page, pages })}</span>
            {page < pages ? <a href={input.href({ page: String(page + 1) })}>{t('view.next')}</a> : <span />}
          </nav>
        ) : null}
        <p class="note">
          {t('view.retention', { hours: input.retentionHours })} {t('view.signedInAs', { user: input.user })}
        </p>
      </main>
    </Page>
  );
}

function Choice({ name, label, any, value, options }: { name: string; label: string; any: string; value?: string; options: [string, string][] }) {
  return (
    <label>
      {label}
      <select name={name}>
        <option value="">{any}</option>
        {options.map(([key, text]) => (
          <option key={key} value={key} selected={key === value}>
            {text}
          </option>
        ))}
      </select>
    </label>
  );
}

function AlertEntry({ alert, claim, input, t, time, color }: { alert: StoredAlert; claim?: Claim; input: AlertsPageInput; t: (key: MessageKey, params?: Params) => string; time: (at: number | string) => string; color: string }) {
  const name = alert.labels.alertname ?? '?';
  const matchers = [`alertname="${name}"`, ...(alert.labels.app ? [`app="${alert.labels.app}"`] : [])].join(',');
  const alertmanager = httpUrl(input.alertmanagerURL);
  const source = httpUrl(alert.generatorURL);
  const summary = alert.annotations.summary ?? alert.annotations.description;
  return (
    <details class={alert.status} data-fingerprint={alert.fingerprint}>
      <summary>
        <span class="sev" style={{ background: color }}>
          {severityOf(alert)}
        </span>
        <span class="name">{name}</span>
        {alert.labels.app ? <span class="app">{alert.labels.app}</span> : null}
        <span class="when">{alert.status === 'firing' ? `${t('view.firing')} · ${time(alert.startsAt)}` : `${t('view.resolved')} · ${time(alert.endsAt ?? alert.lastSeen)}`}</span>
      </summary>
      {summary ? <p>{summary}</p> : null}
      <dl>
        <dt>{t('view.startsAt')}</dt>
        <dd>{time(alert.startsAt)}</dd>
        {alert.status === 'resolved' ? (
          <>
            <dt>{t('view.endsAt')}</dt>
            <dd>{time(alert.endsAt ?? alert.lastSeen)}</dd>
          </>
        ) : null}
        <dt>{t('view.claimedBy')}</dt>
        <dd>{claim ? `${claim.claimedBy} · ${time(claim.claimedAt)}` : t('view.unclaimed')}</dd>
      </dl>
      <Pairs title={t('view.labels')} pairs={alert.labels} />
      <Pairs title={t('view.annotations')} pairs={alert.annotations} />
      <p class="links">
        {alertmanager ? <a href={`${alertmanager.replace(/\/$/, '')}/#/alerts?filter=${encodeURIComponent(`{${matchers}}`)}`}>{t('view.inAlertmanager')}</a> : null}
        {source ? <a href={source}>{t('view.source')}</a> : null}
      </p>
    </details>
  );
}

/** Labels or annotations, one per line under a heading (none when empty). */
function Pairs({ title, pairs }: { title: string; pairs: Record<string, string> }) {
  const entries = Object.entries(pairs);
  if (entries.length === 0) return null;
  return (
    <dl>
      <dt>{title}</dt>
      <dd />
      {entries.map(([key, value]) => (
        <>
          <dt>{key}</dt>
          <dd>{value}</dd>
        </>
      ))}
    </dl>
  );
}

/**
 * Who took the alert's group, for the firing it belongs to (claims.ts): a firing alert's group counts from its
 * earliest firing alert; a resolved alert belongs to the claimed firing when it started after that firing began.
 */
function claimOf(claims: Map<string, Claim>, firingSince: Map<string, number>, alert: StoredAlert): Claim | undefined {
  const id = groupOf(alert);
  const claim = claims.get(id);
  if (!claim) return undefined;
  if (alert.status === 'firing') return claimHolds(claim, firingSince.get(id) ?? sinceOf(alert));
  return Date.parse(alert.startsAt) >= claim.since ? claim : undefined;
}

/** When each group's firing began, by its earliest firing alert. */
function firingSinceOf(alerts: StoredAlert[]): Map<string, number> {
  const since = new Map<string, number>();
  for (const alert of alerts) {
    if (alert.status !== 'firing') continue;
    const id = groupOf(alert);
    since.set(id, Math.min(since.get(id) ?? Infinity, sinceOf(alert)));
  }
  return since;
}

/** Bucket sizes, in minutes, from which the chart takes the smallest that keeps it under MAX_BUCKETS bars. */
const BUCKET_MINUTES = [1, 5, 10, 15, 30, 60, 180, 360, 1440];
const MAX_BUCKETS = 90;

/** The chart reaches back at most this far before the window's end. */
const CHART_REACH_MS = 24 * 3_600_000;

/**
 * Alerts per bucket of their start, by severity: from the earliest start among them (or the window's start, and
 * never more than a day back; earlier starts count in the first bucket) to the window's end.
 */
function buckets(alerts: StoredAlert[], windowFrom: number, to: number, timezone: string): { minutes: number; buckets: Bucket[] } {
  const earliest = alerts.reduce((min, alert) => Math.min(min, Date.parse(alert.startsAt)), windowFrom);
  const from = Math.max(to - CHART_REACH_MS, earliest);
  const span = Math.max(60_000, to - from);
  const minutes = BUCKET_MINUTES.find((size) => span / (size * 60_000) <= MAX_BUCKETS) ?? 1440;
  const size = minutes * 60_000;
  const start = Math.floor(from / size) * size;
  const count = Math.max(1, Math.ceil((to - start) / size));
  const hhmm = new Intl.DateTimeFormat('en-GB', { timeZone: timezone, hour: '2-digit', minute: '2-digit', hour12: false });
  const result: Bucket[] = Array.from({ length: count }, (_, index) => ({ label: hhmm.format(new Date(start + index * size)), counts: new Map() }));
  for (const alert of alerts) {
    const index = Math.min(count - 1, Math.max(0, Math.floor((Date.parse(alert.startsAt) - start) / size)));
    const severity = severityOf(alert);
    const counts = result[index]!.counts;
    counts.set(severity, (counts.get(severity) ?? 0) + 1);
  }
  return { minutes, buckets: result };
}
