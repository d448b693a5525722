import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import type { Channel } from '../channel/port.js';
import { alertCard, groupState, silenceMatchers, sinceOf } from './card.js';
import { groupId, type AlertClaims } from './claims.js';
import type { Config } from '../config/load.js';
import { recipientKey, type Recipient } from '../config/schema.js';
import { fenced, type Fence, type SqlClient, type SqlRunner } from '../store/sql.js';
import type { Webhook, WebhookAlert } from './payload.js';
import { renderBatch, SAMPLES, severityRank, type Batch } from './render.js';
import { recipientsFor, type OwnerDirectory, type StaticRoute } from './routing.js';
import type { Subscriptions } from './subscriptions.js';

/**
 * From Alertmanager webhooks to messages, in named stages (as Alertmanager's own notify pipeline):
 *  1. store: the alert state and the batches it changes are committed in one transaction before the webhook gets
 *     its 200; a storage failure rolls all of it back and answers 5xx, so Alertmanager sends again and the retry
 *     finds nothing half-done;
 *  2. diff: Alertmanager re-sends whole groups, and HA peers send the same group twice; an alert is news only
 *     when it starts firing (a new fingerprint or startsAt) or resolves, so each is handled once;
 *  3. route: subscribers, static routes and owners get a firing alert; its resolve goes to exactly those told;
 *  4. batch: immediate severities go into a batch due now (or 10 s after the recipient's last one), the rest into
 *     the recipient's digest, due when its window (counted from its first alert) ends; pending batches live in
 *     the database, so they survive a restart;
 *  5. flush: each due batch becomes one message packed within the recipient's byte limit (what does not fit is
 *     counted); the batch leaves the database in the same transaction that queues its message, so a crash
 *     neither loses nor repeats it, and a flush that fails is tried again on the next tick.
 * Fingerprints, recipients and group names come from the payload: they are keys of tables and Maps, never of
 * plain objects.
 */

export interface StoredAlert {
  fingerprint: string;
  status: 'firing' | 'resolved';
  startsAt: string;
  endsAt?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  generatorURL: string;
  lastSeen: number;
  /** Recipients told of the current firing; its resolve goes to them. */
  told: string[];
  toldAt: number;
}

interface StoredBatch extends Batch {
  recipient: Recipient;
}

/**
 * After an immediate message, the next one to the same recipient waits this long and carries everything that
 * came in between: the first urgent alert goes out at once, a storm of them becomes one message every 10 s
 * (at most 6 a minute, well inside WeCom's 30) instead of one per webhook.
 */
export const IMMEDIATE_GAP_MS = 10_000;

export interface AlertEngineOptions {
  config: Config;
  subscriptions: Subscriptions;
  owners: OwnerDirectory;
  routes: readonly StaticRoute[];
  /** `alongside` is committed in the same transaction as the queued message. */
  channel: Pick<Channel, 'send' | 'fits' | 'update' | 'room'>;
  /** Who took which group: shown on the group's card. */
  claims?: AlertClaims;
  /** With several replicas: only the leader claims batches to send (the claim carries the fence). */
  fence?: Fence;
  logger: Logger;
  now?: () => number;
  /** Resolved alerts are kept this long to recognise late duplicates; firing ones unseen this long are dropped. */
  resolvedRetentionMs?: number;
  staleFiringMs?: number;
  /** More distinct alertname/app groups than this in one batch are counted in one "other" group. */
  maxGroups?: number;
  /** The address of a page showing every alert seen between two times, for a recipient (pages are optional). */
  page?: (from: number, to: number, recipient: Recipient) => string | undefined;
}

export interface IngestResult {
  alerts: number;
  firing: number;
  resolved: number;
}

/** Any constant: PostgreSQL replicas take turns ingesting webhooks under this advisory lock. */
const INGEST_LOCK = 0x616c7274;
/** Alert rows per statement when a webhook's alerts are written. */
const WRITE_CHUNK = 200;

/** What one webhook changes in the alerts table, written together at the end of its transaction. */
interface AlertWrites {
  /** Alerts to store whole, by fingerprint (the last version of each). */
  saves: Map<string, StoredAlert>;
  /** Alerts only seen again: their `last_seen` moves. */
  touched: Set<string>;
  /** Recipients already recorded in this webhook. */
  recipients: Set<string>;
}

/** Most messages one batch becomes (a storm's digest names every group in compact lines over several). */
const MAX_MESSAGES = 10;
/** Distinct alertname/app groups one batch names; more are counted in one "other" group (a storm of 1,000 fits). */
const MAX_GROUPS = 2000;
/** Groups beyond this many in a batch keep no examples: a message with examples never holds that many. */
const SAMPLED_GROUPS = 200;

/**
 * A digest holding this many alerts is a storm's: its messages name every group in compact lines already, and
 * waiting out the window would only make the on-call engineer wait. It goes once no alert has come for
 * STORM_QUIET_MS (Alertmanager sends a group's news in bursts, every group_interval), or when its window ends.
 */
const STORM_ALERTS = 100;
const STORM_QUIET_MS = 1_500;

/** Resolved alerts are kept this long (to recognise late duplicates, and for the pages), unless told otherwise. */
const RESOLVED_RETENTION_MS = 2 * 3_600_000;

/** A flush's claim on a batch older than this never finished, and the batch is due again. */
const CLAIM_STALE_MS = 10_000;

/** The group an alert belongs to: its alertname and app (claims.ts). */
export const groupOf = (alert: StoredAlert): string => groupId(alert.labels.alertname ?? '?', alert.labels.app);
/** The environment an alert names (its env or environment label), if any. */
export const environmentOf = (alert: StoredAlert): string | undefined => alert.labels.env ?? alert.labels.environment;

/** Which firing alerts: of one group, or all; with `environment`, those that name it or name none. */
export interface FiringFilter {
  environment?: string;
  group?: string;
}

function firingWhere(filter: FiringFilter): { sql: string; params: string[] } {
  const clauses = ["status = 'firing'"];
  const params: string[] = [];
  if (filter.environment !== undefined) {
    clauses.push('(env IS NULL OR env = ?)');
    params.push(filter.environment);
  }
  if (filter.group !== undefined) {
    clauses.push('group_id = ?');
    params.push(filter.group);
  }
  return { sql: clauses.join(' AND '), params };
}

/** How many older rows get their new columns per commit when the engine opens. */
const BACKFILL_CHUNK = 2_000;

/** A group of alerts firing now: its id (groupOf), how many fire, since when (ms). */
export interface FiringCount {
  id: string;
  count: number;
  since: number;
}

export class AlertEngine {
  readonly #now: () => number;
  #flushing: Promise<void> | undefined;
  /** Alertmanager's address as its webhooks give it, for the cards' link. */
  #externalURL: string | undefined;
  #prunedAt = 0;

  private constructor(
    private readonly sql: SqlClient,
    private readonly options: AlertEngineOptions,
  ) {
    this.#now = options.now ?? Date.now;
  }

  static async open(sql: SqlClient, options: AlertEngineOptions): Promise<AlertEngine> {
    // Alerts stored before their group, environment and start had columns get theirs once, a few thousand a commit.
    for (;;) {
      const rows = await sql.all<{ data: string }>('SELECT data FROM alerts WHERE since IS NULL LIMIT ?', [BACKFILL_CHUNK]);
      if (rows.length === 0) break;
      await sql.batch(
        rows.map(({ data }) => {
          const alert = JSON.parse(data) as StoredAlert;
          return { sql: 'UPDATE alerts SET group_id = ?, env = ?, since = ? WHERE fingerprint = ?', params: [groupOf(alert), environmentOf(alert) ?? null, sinceOf(alert), alert.fingerprint] };
        }),
      );
    }
    return new AlertEngine(sql, options);
  }

  /** Stages 1-4 for one webhook; resolves once the new state is committed, and changes nothing if it is not. */
  async ingest(webhook: Webhook): Promise<IngestResult> {
    const now = this.#now();
    const result: IngestResult = { alerts: webhook.alerts.length, firing: 0, resolved: 0 };
    const resolvedGroups = new Set<string>();
    if (webhook.externalURL) this.#externalURL = webhook.externalURL;
    // Routing reads the subscriptions held here: another replica may have changed them.
    await this.options.subscriptions.current();
    // One transaction, committed and durable before the webhook's 200. Replicas take turns (the embedded store
    // has one connection; PostgreSQL takes an advisory lock), so two copies of one webhook never both find news.
    await this.sql.transaction(async (tx) => {
      if (this.sql.dialect === 'postgres') await tx.run('SELECT pg_advisory_xact_lock(?)', [INGEST_LOCK]);
      const batches = new Map<string, StoredBatch>();
      // The webhook's alerts as stored, in a few reads instead of one per alert (a round trip each on PostgreSQL).
      const stored = new Map<string, string>();
      const fingerprints = [...new Set(webhook.alerts.map((alert) => alert.fingerprint))];
      for (let i = 0; i < fingerprints.length; i += 500) {
        const chunk = fingerprints.slice(i, i + 500);
        for (const row of await tx.all<{ fingerprint: string; data: string }>(`SELECT fingerprint, data FROM alerts WHERE fingerprint IN (${chunk.map(() => '?').join(', ')})`, chunk)) stored.set(row.fingerprint, row.data);
      }
      // The alerts' own rows are written at the end, a few hundred per statement (one round trip each on PostgreSQL).
      const writes: AlertWrites = { saves: new Map(), touched: new Set(), recipients: new Set() };
      for (const alert of webhook.alerts) {
        const change = this.#diff(alert, stored, now, writes);
        if (!change) continue;
        const recipients = change.event === 'firing' ? await this.#routeFiring(tx, change.stored, alert, now, writes) : await this.#routeResolved(tx, change.stored);
        writes.saves.set(alert.fingerprint, change.stored);
        // A second copy of the alert in this webhook is judged against what was just saved.
        stored.set(alert.fingerprint, JSON.stringify(change.stored));
        for (const recipient of recipients) await this.#addToBatch(tx, batches, recipient, alert, change.event, webhook.externalURL, now);
        if (change.event === 'resolved') resolvedGroups.add(groupOf(change.stored));
        result[change.event]++;
      }
      await this.#writeAlerts(tx, writes, now);
      for (const batch of batches.values()) await tx.run('UPDATE alert_batches SET data = ?, due_at = ? WHERE id = ?', [JSON.stringify(batch), batch.dueAt, batch.id]);
    });
    // A group that no longer fires: its cards say so where they can still change (the resolve is in the messages anyway).
    for (const id of resolvedGroups) {
      const firing = await this.sql.get<{ n: number }>("SELECT count(*) AS n FROM alerts WHERE status = 'firing' AND group_id = ?", [id]);
      if (Number(firing?.n ?? 0) === 0) await this.updateCard(id).catch((error: unknown) => this.options.logger.warn({ err: error, group: id }, 'alert card could not be updated'));
    }
    return result;
  }

  /** The card of an alert group as it stands now; undefined when nothing of it is kept. */
  async card(id: string): Promise<ReturnType<typeof alertCard> | undefined> {
    const { config } = this.options;
    const alerts = (await this.sql.all<{ data: string }>("SELECT data FROM alerts WHERE status IN ('firing', 'resolved') AND group_id = ?", [id])).map((row) => JSON.parse(row.data) as StoredAlert);
    const state = groupState(alerts, await this.options.claims?.get(id));
    return state && alertCard(state, { locale: config.locale, timezone: config.timezone, externalURL: this.alertmanagerURL, now: this.#now() });
  }

  /** Brings the group's sent cards up to date where the channel can; `except` is a user whose card a click updates itself. */
  async updateCard(id: string, options?: { except?: string }): Promise<void> {
    const card = await this.card(id);
    if (card) await this.options.channel.update(card, options);
  }

  /** The rows of one webhook's alerts: whole rows for the changed ones, `last_seen` for those only seen again. */
  async #writeAlerts(tx: SqlRunner, writes: AlertWrites, now: number): Promise<void> {
    const saves = [...writes.saves.values()];
    for (let i = 0; i < saves.length; i += WRITE_CHUNK) {
      const chunk = saves.slice(i, i + WRITE_CHUNK);
      await tx.run(
        `INSERT INTO alerts (fingerprint, status, starts_at, last_seen, group_id, env, since, data) VALUES ${chunk.map(() => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', ')} ON CONFLICT (fingerprint) DO UPDATE SET status = excluded.status, starts_at = excluded.starts_at, last_seen = excluded.last_seen, group_id = excluded.group_id, env = excluded.env, since = excluded.since, data = excluded.data`,
        chunk.flatMap((alert) => [alert.fingerprint, alert.status, alert.startsAt, alert.lastSeen, groupOf(alert), environmentOf(alert) ?? null, sinceOf(alert), JSON.stringify(alert)]),
      );
    }
    const touched = [...writes.touched].filter((fingerprint) => !writes.saves.has(fingerprint));
    for (let i = 0; i < touched.length; i += WRITE_CHUNK) {
      const chunk = touched.slice(i, i + WRITE_CHUNK);
      await tx.run(`UPDATE alerts SET last_seen = ? WHERE fingerprint IN (${chunk.map(() => '?').join(', ')})`, [now, ...chunk]);
    }
  }

  /** Is this alert news? Records that it was seen either way; returns the changed state when it is news. */
  #diff(alert: WebhookAlert, stored: Map<string, string>, now: number, writes: AlertWrites): { event: 'firing' | 'resolved'; stored: StoredAlert } | undefined {
    const row = stored.get(alert.fingerprint);
    const previous = row === undefined ? undefined : (JSON.parse(row) as StoredAlert);
    const touch = () => writes.touched.add(alert.fingerprint);
    if (alert.status === 'firing') {
      if (previous && previous.startsAt === alert.startsAt) {
        previous.lastSeen = now;
        if (previous.status === 'firing') {
          const changed = !isDeepStrictEqual(previous.labels, alert.labels) || !isDeepStrictEqual(previous.annotations, alert.annotations);
          previous.labels = alert.labels;
          previous.annotations = alert.annotations;
          const repeat = this.options.config.alerts.repeatInterval;
          if (repeat && now - previous.toldAt >= repeat) return { event: 'firing', stored: previous };
          // Alertmanager re-sends whole groups: most of an alert's re-sends change nothing but when it was seen.
          if (changed) writes.saves.set(alert.fingerprint, previous);
          else touch();
        } else {
          // Firing again with the same startsAt after its resolve: a late duplicate from an HA peer.
          touch();
        }
        return undefined;
      }
      const stored: StoredAlert = {
        fingerprint: alert.fingerprint,
        status: 'firing',
        startsAt: alert.startsAt,
        labels: alert.labels,
        annotations: alert.annotations,
        generatorURL: alert.generatorURL,
        lastSeen: now,
        told: [],
        toldAt: now,
      };
      return { event: 'firing', stored };
    }
    if (!previous || previous.status === 'resolved') {
      if (previous) touch();
      return undefined; // a resolve of something never seen firing tells nobody anything, and is not stored
    }
    previous.status = 'resolved';
    previous.endsAt = alert.endsAt;
    previous.lastSeen = now;
    return { event: 'resolved', stored: previous };
  }

  async #routeFiring(tx: SqlRunner, stored: StoredAlert, alert: WebhookAlert, now: number, writes: AlertWrites): Promise<Recipient[]> {
    const recipients = recipientsFor(alert.labels, this.options);
    for (const recipient of recipients) {
      const key = recipientKey(recipient);
      // Once per recipient and webhook: a storm names the same few recipients on every alert.
      if (!writes.recipients.has(key)) await tx.run('INSERT INTO alert_recipients (key, recipient) VALUES (?, ?) ON CONFLICT (key) DO NOTHING', [key, JSON.stringify(recipient)]);
      writes.recipients.add(key);
      if (!stored.told.includes(key)) stored.told.push(key);
    }
    stored.toldAt = now;
    return recipients;
  }

  async #routeResolved(tx: SqlRunner, stored: StoredAlert): Promise<Recipient[]> {
    const recipients: Recipient[] = [];
    for (const key of stored.told) {
      const row = await tx.get<{ recipient: string }>('SELECT recipient FROM alert_recipients WHERE key = ?', [key]);
      if (row !== undefined) recipients.push(JSON.parse(row.recipient) as Recipient);
    }
    return recipients;
  }

  /** The recipient's open batch of this kind, loaded once per webhook, or a new one. */
  async #openBatch(tx: SqlRunner, batches: Map<string, StoredBatch>, recipient: Recipient, kind: Batch['kind'], externalURL: string, now: number): Promise<StoredBatch> {
    const key = recipientKey(recipient);
    const mapKey = `${kind}:${key}`;
    let batch = batches.get(mapKey);
    if (batch) return batch;
    // A batch the flush has claimed is on its way out: new alerts go to a new batch. On PostgreSQL the row is locked
    // until this transaction commits, so a claim waits for it (and this read waits for a claim).
    const lock = this.sql.dialect === 'postgres' ? ' FOR UPDATE' : '';
    for (const row of await tx.all<{ id: number; data: string }>(`SELECT id, data FROM alert_batches WHERE recipient_key = ? AND kind = ? AND flushing = 0 ORDER BY id${lock}`, [key, kind])) {
      batch = { ...(JSON.parse(row.data) as StoredBatch), id: row.id };
    }
    if (!batch) {
      const dueAt = kind === 'immediate' ? Math.max(now, (await this.#lastImmediate(tx, key)) + IMMEDIATE_GAP_MS) : now + this.options.config.alerts.digestWindow;
      const { id } = (await tx.get<{ id: number }>("INSERT INTO alert_batches (recipient_key, kind, due_at, data) VALUES (?, ?, ?, '{}') RETURNING id", [key, kind, dueAt]))!;
      batch = { id, kind, recipient, recipientKey: key, openedAt: now, dueAt, externalURL, firing: 0, resolved: 0, groups: [] };
    }
    batches.set(mapKey, batch);
    return batch;
  }

  /**
   * When the recipient's last urgent message left: its flush's claim counts, since the message is being queued and
   * `last_immediate` is written only once it is. Without it an alert arriving meanwhile went out a second later.
   */
  async #lastImmediate(tx: SqlRunner, key: string): Promise<number> {
    const row = await tx.get<{ last: number | null; claimed: number | null }>(
      "SELECT (SELECT last_immediate FROM alert_recipients WHERE key = ?) AS last, (SELECT max(flushing) FROM alert_batches WHERE recipient_key = ? AND kind = 'immediate' AND flushing <> 0) AS claimed",
      [key, key],
    );
    return Math.max(Number(row?.last ?? 0), Number(row?.claimed ?? 0));
  }

  async #addToBatch(tx: SqlRunner, batches: Map<string, StoredBatch>, recipient: Recipient, alert: WebhookAlert, event: 'firing' | 'resolved', externalURL: string, now: number): Promise<void> {
    const severity = alert.labels.severity ?? '';
    const kind = this.options.config.alerts.immediateSeverities.includes(severity) ? 'immediate' : 'digest';
    const batch = await this.#openBatch(tx, batches, recipient, kind, externalURL, now);
    batch[event]++;
    if (externalURL) batch.externalURL = externalURL;
    const alertname = alert.labels.alertname ?? '?';
    const app = alert.labels.app;
    let group = batch.groups.find((candidate) => !candidate.other && candidate.alertname === alertname && candidate.app === app);
    // Past the cap, new groups count in the one "other" group.
    const other = batch.groups.length >= (this.options.maxGroups ?? MAX_GROUPS);
    if (!group && other) group = batch.groups.find((candidate) => candidate.other);
    if (!group) {
      group = {
        alertname: other ? '…' : alertname,
        app: other ? undefined : app,
        other: other || undefined,
        severity: other ? '' : severity,
        firing: 0,
        resolved: 0,
        firstSeen: now,
        lastSeen: now,
        samples: [],
        silence: silenceMatchers(alertname, app),
      };
      batch.groups.push(group);
    }
    group[event]++;
    group.lastSeen = now;
    // A storm's digest gains nothing by waiting out its window: it goes as soon as the burst pauses.
    if (kind === 'digest' && batch.firing + batch.resolved >= STORM_ALERTS) batch.dueAt = Math.min(batch.openedAt + this.options.config.alerts.digestWindow, now + STORM_QUIET_MS);
    // A group shows the worst severity among its alerts.
    if (!group.other && severityRank(severity) < severityRank(group.severity)) group.severity = severity;
    if (batch.groups.length > SAMPLED_GROUPS) return;
    group.samples.push({ status: event, instance: alert.labels.instance ?? alert.labels.pod, summary: alert.annotations.summary ?? alert.annotations.description, startsAt: alert.startsAt });
    if (group.samples.length > SAMPLES) group.samples.shift();
  }

  /** Stage 5 for every batch that is due; one flush at a time. */
  tick(): Promise<void> {
    this.#flushing ??= this.#flush().finally(() => {
      this.#flushing = undefined;
    });
    return this.#flushing;
  }

  async #flush(): Promise<void> {
    const { channel, config, logger } = this.options;
    const now = this.#now();
    let due: StoredBatch[];
    try {
      // Claimed in one statement, with the time of the claim: from here no ingest adds to these batches, so what is
      // sent is all they hold. A claim whose flush never finished (its process died, or the database went away
      // before the batch could be queued or handed back) is taken again once it is CLAIM_STALE_MS old; the outbox
      // key keeps a batch that was queued after all from going twice.
      const fence = fenced(this.options.fence);
      due = (await this.sql.all<{ id: number; due_at: number; data: string }>(`UPDATE alert_batches SET flushing = ? WHERE due_at <= ? AND (flushing = 0 OR flushing < ?) AND ${fence.sql} RETURNING id, due_at, data`, [now, now, now - CLAIM_STALE_MS, ...fence.params]))
        .sort((a, b) => a.due_at - b.due_at || a.id - b.id)
        .map((row) => ({ ...(JSON.parse(row.data) as StoredBatch), id: row.id }));
    } catch (error) {
      logger.error({ err: error }, 'pending alert batches could not be read; will try again');
      return;
    }
    for (const batch of due) {
      try {
        const answer = 'user' in batch.recipient ? 'here' : config.wecom.aibot.token ? 'aibot' : config.wecom.agentId !== undefined ? 'app' : 'nowhere';
        const page = this.options.page?.(batch.openedAt, now, batch.recipient);
        const render = (maxMessages: number) => renderBatch(batch, { locale: config.locale, timezone: config.timezone, answer, fits: (candidate) => channel.fits(batch.recipient, candidate), maxMessages, page });
        let pages = render(MAX_MESSAGES);
        const room = channel.room?.(batch.recipient) ?? MAX_MESSAGES;
        if (pages.length > room) {
          // A storm's digest due before its window ends waits until the recipient's rate windows have room for all
          // of it (they free up as earlier messages age out); anything else goes now, naming what its room holds.
          if (batch.kind === 'digest' && now < batch.openedAt + config.alerts.digestWindow) {
            await this.#handBack(batch.id);
            continue;
          }
          pages = render(room);
        }
        // The batch leaves the database in the transaction that queues its last message. A flush cut off before
        // that sends the batch again; the keys keep the messages already queued from going twice.
        const done = [
          { sql: 'DELETE FROM alert_batches WHERE id = ?', params: [batch.id] },
          ...(batch.kind === 'immediate' ? [{ sql: 'UPDATE alert_recipients SET last_immediate = ? WHERE key = ?', params: [now, batch.recipientKey] }] : []),
        ];
        for (const [i, page] of pages.entries()) {
          const last = i === pages.length - 1;
          await channel.send(batch.recipient, page, { key: last ? `alerts:${batch.id}` : `alerts:${batch.id}:${i + 1}`, alongside: last ? done : undefined });
        }
      } catch (error) {
        logger.error({ err: error, batch: batch.id }, 'alert batch could not be sent; will try again');
        // Back to the due ones, for the next tick; when even that fails, its claim goes stale and is taken again.
        await this.#handBack(batch.id).catch(() => {});
      }
    }
    if (now - this.#prunedAt >= 60_000) await this.#prune(now);
  }

  /** Gives a claimed batch back to the due ones, for a later tick. */
  #handBack(id: number): Promise<number> {
    return this.sql.run('UPDATE alert_batches SET flushing = 0 WHERE id = ?', [id]);
  }

  /** Forgets resolved alerts past retention and firing ones not seen for long; indexed, so its cost is what it removes. */
  async #prune(now: number): Promise<void> {
    try {
      await this.sql.batch([
        { sql: "DELETE FROM alerts WHERE status = 'resolved' AND last_seen < ?", params: [now - this.resolvedRetentionMs] },
        { sql: "DELETE FROM alerts WHERE status = 'firing' AND last_seen < ?", params: [now - (this.options.staleFiringMs ?? 48 * 3_600_000)] },
      ]);
      this.#prunedAt = now;
    } catch (error) {
      this.options.logger.warn({ err: error }, 'alert state could not be pruned; will try again');
    }
  }

  /**
   * The groups firing now, the most alerts first, counted by the database from an index: no alert is read, so the
   * cost stays small however many fire.
   */
  async firingGroups(filter: FiringFilter = {}): Promise<FiringCount[]> {
    const where = firingWhere(filter);
    const rows = await this.sql.all<{ id: string; n: number; since: number }>(`SELECT group_id AS id, count(*) AS n, min(since) AS since FROM alerts WHERE ${where.sql} GROUP BY group_id ORDER BY n DESC, group_id`, where.params);
    return rows.map((row) => ({ id: row.id, count: Number(row.n), since: Number(row.since) }));
  }

  /** One alert of a group firing now: its name, app and severity stand for the group's. */
  async firingSample(filter: FiringFilter & { group: string }): Promise<StoredAlert | undefined> {
    const where = firingWhere(filter);
    const row = await this.sql.get<{ data: string }>(`SELECT data FROM alerts WHERE ${where.sql} LIMIT 1`, where.params);
    return row && (JSON.parse(row.data) as StoredAlert);
  }

  /**
   * Alerts seen between `from` and `to` (ms), whatever their state now, oldest first (then by fingerprint): what a
   * digest's page shows. At most `limit` are read (firing ones first), so a page costs the same however many alerts
   * are stored; `more` says whether others were left out.
   */
  async seenBetween(from: number, to: number, limit: number): Promise<{ alerts: StoredAlert[]; more: boolean }> {
    const rows = await this.sql.all<{ data: string }>("SELECT data FROM alerts WHERE status IN ('firing', 'resolved') AND last_seen >= ? ORDER BY status LIMIT ?", [from, limit + 1]);
    const alerts = rows
      .slice(0, limit)
      .map((row) => JSON.parse(row.data) as StoredAlert)
      .filter((alert) => Date.parse(alert.startsAt) <= to)
      .sort((a, b) => Date.parse(a.startsAt) - Date.parse(b.startsAt) || (a.fingerprint < b.fingerprint ? -1 : 1));
    return { alerts, more: rows.length > limit };
  }

  /** How long resolved alerts are kept: what a page can still show of them. */
  get resolvedRetentionMs(): number {
    return this.options.resolvedRetentionMs ?? RESOLVED_RETENTION_MS;
  }

  /** Alertmanager's address as its webhooks give it (else the configured one), for links to it. */
  get alertmanagerURL(): string | undefined {
    return this.#externalURL ?? this.options.config.alerts.alertmanagerUrl;
  }

  /** Alerts kept and batches waiting, for metrics and tests. */
  async size(): Promise<{ alerts: number; batches: number }> {
    const count = async (table: string) => Number((await this.sql.get<{ n: number }>(`SELECT count(*) AS n FROM ${table}`))?.n ?? 0);
    return { alerts: await count('alerts'), batches: await count('alert_batches') };
  }
}
