import { inCluster, requireApp } from '../src/chat/apps.js';
import { formatTime } from '../src/chat/i18n.js';
import { defineCommand } from '../src/chat/command.js';
import { msg, type Text } from '../src/chat/reply.js';
import { history, tagOf } from '../src/kube/rollout.js';

export default defineCommand({
  name: 'history',
  aliases: ['历史'],
  summary: 'cmd.history',
  examples: ['history order-service @prod'],
  args: [{ name: 'app', kind: 'word', required: true }] as const,
  environment: true,
  audited: true,
  async run(context, args) {
    const { name, app } = requireApp(context, args.app);
    context.record({ app: name });
    return inCluster(context, async (cluster) => {
      const revisions = await history(cluster, name, app.container);
      if (revisions.length === 0) return { blocks: [{ type: 'text', text: msg('history.none', { app: name, env: context.environment }) }] };
      const items: Text[] = revisions.map((r) => {
        const line = `#${r.revision} ${tagOf(r.image)} · ${formatTime(context.locale, context.config.timezone, r.createdAt)} · ${r.cause ?? '-'}`;
        return r.current ? [line, ' ', msg('history.current')] : line;
      });
      // The latest scale is not a revision; the audit log knows it.
      const [scaled] = await context.services.audit.recent(1, { app: name, environment: context.environment, result: 'ok', commandPrefix: 'scale' });
      return {
        blocks: [
          { type: 'title', text: msg('history.title', { app: name, env: context.environment }) },
          { type: 'list', items },
          ...(scaled ? [{ type: 'text' as const, text: msg('history.lastScale', { user: scaled.user, from: scaled.before?.replicas ?? '?', to: scaled.after?.replicas ?? '?', at: formatTime(context.locale, context.config.timezone, scaled.at) }), tone: 'muted' as const }] : []),
        ],
      };
    });
  },
});
