import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Every metric wekube exports, on a registry of its own (several instances can live in one test process). */
export function createMetrics() {
  const registry = new Registry();
  /** Read when /metrics is scraped; the parts that own the numbers fill these in. */
  const sources: { outboxPending: () => number; inboundWaiting: () => number; alertBatches: () => Promise<number> } = { outboxPending: () => 0, inboundWaiting: () => 0, alertBatches: async () => 0 };
  collectDefaultMetrics({ register: registry, prefix: 'wekube_' });
  return {
    registry,
    sources,
    callbacks: new Counter({
      name: 'wekube_wecom_callbacks_total',
      help: 'WeCom callbacks by result (accepted, duplicate, forged, stale, malformed, ...)',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    callbackSeconds: new Histogram({
      name: 'wekube_wecom_callback_ack_seconds',
      help: 'Time from a callback request to its answer',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    aibotCallbacks: new Counter({
      name: 'wekube_aibot_callbacks_total',
      help: 'AI bot (智能机器人) callbacks by result (accepted, duplicate, forged, stale, malformed, ...), stream refreshes included',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    aibotCallbackSeconds: new Histogram({
      name: 'wekube_aibot_callback_ack_seconds',
      help: 'Time from an AI bot callback request to its answer',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    commands: new Counter({
      name: 'wekube_commands_total',
      help: 'Chat commands run, by command and outcome (ok, refused, error)',
      labelNames: ['command', 'outcome'] as const,
      registers: [registry],
    }),
    outboxPending: new Gauge({
      name: 'wekube_outbox_pending',
      help: 'Messages waiting in the outbox',
      registers: [registry],
      collect() {
        this.set(sources.outboxPending());
      },
    }),
    inboundWaiting: new Gauge({
      name: 'wekube_inbound_waiting',
      help: 'Messages acknowledged and not started yet (waiting for a turn, or held back while callbacks flood in)',
      registers: [registry],
      collect() {
        this.set(sources.inboundWaiting());
      },
    }),
    outboxSent: new Counter({
      name: 'wekube_outbox_sent_total',
      help: 'Messages WeCom accepted, by recipient kind (user, chat, robot)',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    alertWebhooks: new Counter({
      name: 'wekube_alert_webhooks_total',
      help: 'Alertmanager webhooks by result (accepted, unauthorized, malformed, too-large, store-failed)',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    alertWebhookSeconds: new Histogram({
      name: 'wekube_alert_webhook_seconds',
      help: 'Time from an Alertmanager webhook to its answer (the alerts stored)',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    alertsReceived: new Counter({
      name: 'wekube_alerts_received_total',
      help: 'Alerts received in accepted webhooks (repeats included)',
      registers: [registry],
    }),
    alertBatches: new Gauge({
      name: 'wekube_alert_batches_pending',
      help: 'Digests and immediate batches waiting to be sent',
      registers: [registry],
      async collect() {
        this.set(await sources.alertBatches());
      },
    }),
    outboxFailed: new Counter({
      name: 'wekube_outbox_failed_total',
      help: 'Messages given up after a permanent error or too many attempts',
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
