import { defineCommand } from '../src/chat/command.js';
import { formatTime, translate } from '../src/chat/i18n.js';
import { msg, strong, type Block, type Text } from '../src/chat/reply.js';

const MAX_GROUPS = 30;

export default defineCommand({
  name: 'alerts',
  aliases: ['告警'],
  summary: 'cmd.alerts',
  examples: ['alerts', 'alerts @prod'],
  args: [] as const,
  environment: true,
  async run(context) {
    // Without @env every alert shows: a firing prod critical must never hide behind the default environment. With
    // one, alerts that name an environment (an env or environment label) must name that one; others always show.
    const env = context.environmentNamed ? context.environment : translate(context.locale, 'alerts.allEnvironments');
    const firing = context.services.alerts.firing((labels) => {
      const named = labels.env ?? labels.environment;
      return !context.environmentNamed || named === undefined || named === context.environment;
    });
    if (firing.length === 0) return { blocks: [{ type: 'text', text: msg('alerts.noneFiring', { env }), tone: 'success' }] };
    const groups = new Map<string, { alertname: string; app?: string; severity: string; count: number; since: string }>();
    for (const alert of firing) {
      const key = `${alert.labels.alertname}\u0000${alert.labels.app ?? ''}`;
      const group = groups.get(key);
      if (group) {
        group.count++;
        if (alert.startsAt < group.since) group.since = alert.startsAt;
      } else {
        groups.set(key, { alertname: alert.labels.alertname ?? '?', app: alert.labels.app, severity: alert.labels.severity ?? '-', count: 1, since: alert.startsAt });
      }
    }
    const sorted = [...groups.values()].sort((a, b) => b.count - a.count);
    const items: Text[] = sorted.slice(0, MAX_GROUPS).map((g) => [`🔥${g.count} `, strong(g.alertname), `${g.app ? ` · ${g.app}` : ''} · ${g.severity} · ${formatTime(context.locale, context.config.timezone, g.since)}`]);
    const blocks: Block[] = [
      { type: 'title', text: msg('alerts.firingTitle', { count: firing.length, env }), tone: 'warning' },
      { type: 'list', items },
    ];
    if (sorted.length > MAX_GROUPS) blocks.push({ type: 'text', text: msg('alerts.moreGroups', { count: sorted.length - MAX_GROUPS }), tone: 'muted' });
    return { blocks };
  },
});
