import { inCluster, requireApp } from '../src/chat/apps.js';
import { defineCommand } from '../src/chat/command.js';
import { formatTime } from '../src/chat/i18n.js';
import { msg } from '../src/chat/reply.js';
import { appEvents } from '../src/kube/reads.js';

export default defineCommand({
  name: 'events',
  aliases: ['事件'],
  summary: 'cmd.events',
  examples: ['events order-service @prod'],
  args: [{ name: 'app', kind: 'word', required: true }] as const,
  environment: true,
  audited: true,
  async run(context, args) {
    const { name } = requireApp(context, args.app);
    context.record({ app: name });
    return inCluster(context, async (cluster) => {
      const events = await appEvents(cluster, name);
      if (events.length === 0) return { blocks: [{ type: 'text', text: msg('events.none', { app: name, env: context.environment }), tone: 'muted' }] };
      return {
        blocks: [
          { type: 'title', text: msg('events.title', { app: name, env: context.environment, count: events.length }) },
          {
            type: 'list',
            items: events.map(
              (e) => `${e.type === 'Warning' ? '⚠️ ' : ''}${formatTime(context.locale, context.config.timezone, e.at)} ${e.object} ${e.reason}${e.count > 1 ? ` ×${e.count}` : ''}: ${e.message.slice(0, 200)}`,
            ),
          },
        ],
      };
    });
  },
});
