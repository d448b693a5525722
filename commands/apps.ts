import { defineCommand } from '../src/chat/command.js';
import { msg, strong, type Text } from '../src/chat/reply.js';
import { imageOf, tagOf } from '../src/kube/rollout.js';

/** Which version runs where: every app, every environment, one message; environments that differ are marked. */
export default defineCommand({
  name: 'apps',
  aliases: ['应用'],
  summary: 'cmd.apps',
  examples: ['apps'],
  args: [] as const,
  audited: true,
  async run(context) {
    const { clusters } = context.services;
    const environments = clusters.names;
    // One list per environment, all at once; an environment that does not answer is named, not fatal.
    const lists = await Promise.all(
      environments.map(async (environment) => {
        try {
          const cluster = clusters.get(environment);
          const list = await cluster.apps.listNamespacedDeployment({ namespace: cluster.namespace });
          return { environment, deployments: new Map(list.items.map((d) => [d.metadata?.name, d])) };
        } catch {
          return { environment, deployments: undefined };
        }
      }),
    );
    const items: Text[] = Object.entries(context.config.apps).map(([name, app]) => {
      const tags = new Set<string>();
      const parts = lists.map((entry) => {
        if (!entry.deployments) return `${entry.environment} ?`;
        const deployment = entry.deployments.get(name);
        if (!deployment) return `${entry.environment} -`;
        const tag = tagOf(imageOf(deployment.spec?.template, name, app.container));
        tags.add(tag);
        return `${entry.environment} ${tag} (${deployment.status?.readyReplicas ?? 0}/${deployment.spec?.replicas ?? 0})`;
      });
      const line: Text = [strong(name), `: ${parts.join(' · ')}`];
      return tags.size > 1 ? [line, ' ', msg('apps.differ')] : line;
    });
    const unreachable = lists.filter((entry) => !entry.deployments);
    return {
      blocks: [
        { type: 'title', text: msg('apps.title', { count: items.length, envs: environments.length }) },
        items.length ? { type: 'list', items } : { type: 'text', text: msg('apps.none'), tone: 'muted' },
        ...unreachable.map((entry) => ({ type: 'text' as const, text: msg('apps.unreachable', { env: entry.environment }), tone: 'warning' as const })),
      ],
    };
  },
});
