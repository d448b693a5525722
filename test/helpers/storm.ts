/** How the storm is routed: critical alerts to a robot, one app's alerts to a group chat. */
export const STORM_ALERT_ROUTES = [
  { match: 'severity="critical"', to: { robot: 'storm-robot' } },
  { match: 'app="app-7"', to: { chat: 'opschat' } },
];

/** A storm's alerts: 20 alertnames over 10 apps, one in twenty critical, each with its own fingerprint. */
export function stormAlerts(count: number) {
  const startsAt = new Date().toISOString();
  return Array.from({ length: count }, (_, i) => ({
    status: 'firing' as const,
    labels: { alertname: `Alert${i % 20}`, app: `app-${Math.floor(i / 7) % 10}`, severity: i % 20 === 0 ? 'critical' : 'warning', instance: `10.0.${Math.floor(i / 250)}.${i % 250}:9100` },
    annotations: { summary: `storm alert ${i}: something is wrong on instance ${i}` },
    startsAt,
    generatorURL: 'http://prometheus:9090/graph',
    fingerprint: `storm${i.toString(16).padStart(8, '0')}`,
  }));
}

/** The alerts as Alertmanager webhook bodies of `size` alerts each. */
export function stormWebhooks(alerts: ReturnType<typeof stormAlerts>, size: number): string[] {
  const bodies: string[] = [];
  for (let i = 0; i < alerts.length; i += size) {
    bodies.push(JSON.stringify({ version: '4', groupKey: `storm/${i}`, status: 'firing', receiver: 'wekube', groupLabels: {}, commonLabels: {}, commonAnnotations: {}, externalURL: 'http://alertmanager:9093', alerts: alerts.slice(i, i + size) }));
  }
  return bodies;
}
