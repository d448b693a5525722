import type { Logger } from 'pino';
import type { Reply } from '../chat/reply.js';
import type { Config } from '../config/load.js';
import { recipientKey, type Recipient } from '../config/schema.js';
import type { Collection, Store } from '../store/store.js';
import type { Webhook, WebhookAlert } from './payload.js';
import { renderBatch, SAMPLES, type AlertGroup, type Batch } from './render.js';
import { recipientsFor, type OwnerDirectory, type StaticRoute } from './routing.js';
import type { Subscriptions } from './subscriptions.js';

/**
 * From Alertmanager webhooks to messages, in named stages (as Alertmanager's own notify pipeline):
 *  1. store: the alert state and the batches it changes are written in one file before the webhook gets its 200;
 *     a storage failure answers 5xx, so Alertmanager sends again and nothing is lost;
 *  2. diff: Alertmanager re-sends whole groups, and HA peers send the same group twice; an alert is news only
 *     when it starts firing (a new fingerprint or startsAt) or resolves, so each is handled once;
 *  3. route: subscribers, static routes and owners get a firing alert; its resolve goes to exactly those told;
 *  4. batch: immediate severities go into a batch due now (or 10 s after the recipient's last one), the rest into
 *     the recipient's digest, due when its window (counted from its first alert) ends; pending batches live in
 *     the file, so they survive a restart;
 *  5. flush: each due batch becomes one message packed within the recipient's byte limit (what does not fit is
 *     counted) and goes to the outbox under a key of its own, so a flush repeated after a crash sends nothing twice.
 */

interface StoredAlert {
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
  /** Being handed to the outbox: new alerts go to a new batch. */
  flushing?: boolean;
}

interface AlertsData {
  seq: number;
  alerts: Record<string, StoredAlert>;
  batches: StoredBatch[];
  recipients: Record<string, Recipient>;
  /** When each recipient's last immediate batch went out. */
  lastImmediate?: Record<string, number>;
}

/**
 * After an immediate message, the next one to the same recipient waits this long and carries everything that
 * came in between: the first urgent alert goes out at once, a storm of them becomes one message every 10 s
 * (at most 6 a minute, well inside WeCom's 30) instead of one per webhook.
 */
export const IMMEDIATE_GAP_MS = 10_000;

export interface AlertChannel {
  send(to: Recipient, reply: Reply, options?: { key?: string }): Promise<void>;
  fits(to: Recipient, reply: Reply): boolean;
}

export interface AlertEngineOptions {
  config: Config;
  subscriptions: Subscriptions;
  owners: OwnerDirectory;
  routes: readonly StaticRoute[];
  channel: AlertChannel;
  logger: Logger;
  now?: () => number;
  /** Resolved alerts are kept this long to recognise late duplicates; firing ones unseen this long are dropped. */
  resolvedRetentionMs?: number;
  staleFiringMs?: number;
  /** More distinct alertname/app groups than this in one batch are counted in one "other" group. */
  maxGroups?: number;
}

export interface IngestResult {
  alerts: number;
  firing: number;
  resolved: number;
}

export class AlertEngine {
  readonly #now: () => number;
  #flushing: Promise<void> | undefined;

  private constructor(
    private readonly collection: Collection<AlertsData>,
    private readonly options: AlertEngineOptions,
  ) {
    this.#now = options.now ?? Date.now;
  }

  static async open(store: Store, options: AlertEngineOptions): Promise<AlertEngine> {
    const collection = await store.open<AlertsData>('alerts', () => ({ seq: 0, alerts: {}, batches: [], recipients: {} }));
    for (const batch of collection.data.batches) delete batch.flushing; // a flush cut short by a restart runs again
    return new AlertEngine(collection, options);
  }

  get #data(): AlertsData {
    return this.collection.data;
  }

  /** Stages 1-4 for one webhook; resolves once the new state is on disk. */
  async ingest(webhook: Webhook): Promise<IngestResult> {
    const now = this.#now();
    const result: IngestResult = { alerts: webhook.alerts.length, firing: 0, resolved: 0 };
    for (const alert of webhook.alerts) {
      const event = this.#diff(alert, now);
      if (!event) continue;
      const recipients = event === 'firing' ? this.#routeFiring(alert, now) : this.#routeResolved(alert.fingerprint);
      for (const recipient of recipients) this.#addToBatch(recipient, alert, event, webhook.externalURL, now);
      result[event]++;
    }
    await this.collection.save();
    return result;
  }

  /** Is this alert news? Updates the stored state either way. */
  #diff(alert: WebhookAlert, now: number): 'firing' | 'resolved' | undefined {
    const alerts = this.#data.alerts;
    const previous = alerts[alert.fingerprint];
    if (alert.status === 'firing') {
      if (previous && previous.startsAt === alert.startsAt) {
        previous.lastSeen = now;
        if (previous.status === 'firing') {
          previous.labels = alert.labels;
          previous.annotations = alert.annotations;
          const repeat = this.options.config.alerts.repeatInterval;
          if (repeat && now - previous.toldAt >= repeat) return 'firing';
        }
        // Firing again with the same startsAt after its resolve: a late duplicate from an HA peer.
        return undefined;
      }
      alerts[alert.fingerprint] = {
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
      return 'firing';
    }
    if (!previous || previous.status === 'resolved') {
      if (previous) previous.lastSeen = now;
      return undefined; // a resolve of something never seen firing tells nobody anything
    }
    previous.status = 'resolved';
    previous.endsAt = alert.endsAt;
    previous.lastSeen = now;
    return 'resolved';
  }

  #routeFiring(alert: WebhookAlert, now: number): Recipient[] {
    const stored = this.#data.alerts[alert.fingerprint]!;
    const recipients = recipientsFor(alert.labels, this.options);
    for (const recipient of recipients) {
      const key = recipientKey(recipient);
      this.#data.recipients[key] = recipient;
      if (!stored.told.includes(key)) stored.told.push(key);
    }
    stored.toldAt = now;
    return recipients;
  }

  #routeResolved(fingerprint: string): Recipient[] {
    const stored = this.#data.alerts[fingerprint]!;
    return stored.told.map((key) => this.#data.recipients[key]).filter((recipient): recipient is Recipient => recipient !== undefined);
  }

  #addToBatch(recipient: Recipient, alert: WebhookAlert, event: 'firing' | 'resolved', externalURL: string, now: number): void {
    const { config } = this.options;
    const key = recipientKey(recipient);
    const severity = alert.labels.severity ?? '';
    const kind = config.alerts.immediateSeverities.includes(severity) ? 'immediate' : 'digest';
    let batch = this.#data.batches.find((candidate) => candidate.recipientKey === key && candidate.kind === kind && !candidate.flushing);
    if (!batch) {
      batch = {
        id: ++this.#data.seq,
        kind,
        recipient,
        recipientKey: key,
        openedAt: now,
        dueAt: kind === 'immediate' ? Math.max(now, (this.#data.lastImmediate?.[key] ?? 0) + IMMEDIATE_GAP_MS) : now + config.alerts.digestWindow,
        externalURL,
        firing: 0,
        resolved: 0,
        groups: {},
      };
      this.#data.batches.push(batch);
    }
    batch[event]++;
    if (externalURL) batch.externalURL = externalURL;
    const alertname = alert.labels.alertname ?? '?';
    const app = alert.labels.app;
    let groupKey = `${alertname}\u0000${app ?? ''}`;
    if (!batch.groups[groupKey] && Object.keys(batch.groups).length >= (this.options.maxGroups ?? 500)) groupKey = '\u0000other';
    let group: AlertGroup | undefined = batch.groups[groupKey];
    if (!group) {
      const other = groupKey === '\u0000other';
      group = {
        alertname: other ? '…' : alertname,
        app: other ? undefined : app,
        severity: other ? '' : severity,
        firing: 0,
        resolved: 0,
        firstSeen: now,
        lastSeen: now,
        samples: [],
        silence: app ? `alertname=${JSON.stringify(alertname)} app=${JSON.stringify(app)}` : `alertname=${JSON.stringify(alertname)}`,
      };
      batch.groups[groupKey] = group;
    }
    group[event]++;
    group.lastSeen = now;
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
    const due = this.#data.batches.filter((batch) => batch.dueAt <= now && !batch.flushing);
    for (const batch of due) {
      batch.flushing = true;
      try {
        const reply = renderBatch(batch, { locale: config.locale, timezone: config.timezone, fits: (candidate) => channel.fits(batch.recipient, candidate) });
        await channel.send(batch.recipient, reply, { key: `alerts:${batch.id}` });
        this.#data.batches.splice(this.#data.batches.indexOf(batch), 1);
        if (batch.kind === 'immediate') (this.#data.lastImmediate ??= {})[batch.recipientKey] = now;
        await this.collection.save();
      } catch (error) {
        delete batch.flushing;
        logger.error({ err: error, batch: batch.id }, 'alert batch could not be sent; will try again');
      }
    }
    this.#prune(now);
  }

  #prune(now: number): void {
    const resolvedRetention = this.options.resolvedRetentionMs ?? 2 * 3_600_000;
    const stale = this.options.staleFiringMs ?? 48 * 3_600_000;
    let removed = 0;
    for (const [fingerprint, alert] of Object.entries(this.#data.alerts)) {
      const age = now - alert.lastSeen;
      if ((alert.status === 'resolved' && age > resolvedRetention) || (alert.status === 'firing' && age > stale)) {
        delete this.#data.alerts[fingerprint];
        removed++;
      }
    }
    if (removed > 0) void this.collection.save().catch(() => undefined);
  }

  /** The alerts firing now, newest first. */
  firing(filter: (labels: Record<string, string>) => boolean = () => true): StoredAlert[] {
    return Object.values(this.#data.alerts)
      .filter((alert) => alert.status === 'firing' && filter(alert.labels))
      .sort((a, b) => Date.parse(b.startsAt) - Date.parse(a.startsAt));
  }

  /** Alerts kept and batches waiting, for metrics and tests. */
  get size(): { alerts: number; batches: number } {
    return { alerts: Object.keys(this.#data.alerts).length, batches: this.#data.batches.length };
  }
}
