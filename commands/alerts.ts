import { durationText, formatTime, translate } from '../src/chat/i18n.js';
import { defineCommand } from '../src/chat/command.js';
import { msg, strong, type Block, type Text } from '../src/chat/reply.js';
import { firingGroups } from './alert-groups.js';

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
    const sorted = firingGroups(context, firing);
    const items: Text[] = sorted.slice(0, MAX_GROUPS).map((g) => [
      `#${g.id} 🔥${g.count} `,
      strong(g.alertname),
      `${g.app ? ` · ${g.app}` : ''} · ${g.severity} · ${formatTime(context.locale, context.config.timezone, new Date(g.since))}`,
      g.claim ? [' · ', msg('claim.by', { user: g.claim.claimedBy, ack: durationText(context.locale, g.claim.claimedAt - g.since) })] : '',
    ]);
    const blocks: Block[] = [
      { type: 'title', text: msg('alerts.firingTitle', { count: firing.length, env }), tone: 'warning' },
      { type: 'list', items },
    ];
    if (sorted.length > MAX_GROUPS) blocks.push({ type: 'text', text: msg('alerts.moreGroups', { count: sorted.length - MAX_GROUPS }), tone: 'muted' });
    return { blocks };
  },
});
