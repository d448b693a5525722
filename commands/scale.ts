import { inCluster, requireApp } from '../src/chat/apps.js';
import { defineCommand } from '../src/chat/command.js';
import { msg, UserError, type Block } from '../src/chat/reply.js';
import { followAndReport } from '../src/chat/rollout-report.js';
import { autoscalerFor, imageOf, requireDeployment, revisionOf, scale } from '../src/kube/rollout.js';

export default defineCommand({
  name: 'scale',
  aliases: ['扩缩容', '扩容', '缩容'],
  summary: 'cmd.scale',
  examples: ['scale order-service 4 @prod'],
  args: [
    { name: 'app', kind: 'word', required: true },
    { name: 'replicas', kind: 'int', required: true, min: 0 },
  ] as const,
  environment: true,
  mutates: true,
  audited: true,
  async plan(context, args) {
    const { name, app } = requireApp(context, args.app);
    if (args.replicas < app.minReplicas || args.replicas > app.maxReplicas) {
      throw new UserError('scale.outOfBounds', { app: name, replicas: args.replicas, min: app.minReplicas, max: app.maxReplicas });
    }
    return inCluster(context, async (cluster) => {
      const deployment = await requireDeployment(cluster, name);
      const current = deployment.spec?.replicas ?? 0;
      const autoscaler = await autoscalerFor(cluster, name);
      const preview: Block[] = [{ type: 'fields', fields: [{ label: msg('field.replicas'), value: `${current} → ${args.replicas}` }] }];
      if (autoscaler) preview.push({ type: 'text', text: msg('scale.autoscaler', { hpa: autoscaler.name, min: autoscaler.min, max: autoscaler.max }), tone: 'warning' });
      const image = imageOf(deployment.spec?.template, name, app.container);
      return {
        app: name,
        summary: msg('scale.summary', { app: name, replicas: args.replicas, env: context.environment }),
        preview,
        before: { image, replicas: current, revision: revisionOf(deployment) },
        after: { image, replicas: args.replicas, revision: revisionOf(deployment) },
      };
    });
  },
  async run(context, args, plan) {
    const { name } = requireApp(context, args.app);
    return inCluster(context, async (cluster) => {
      const { from, to } = await scale(cluster, name, args.replicas);
      await context.progress({ blocks: [{ type: 'text', text: msg('scale.started', { app: name, from, to, env: context.environment }) }] });
      return followAndReport(context, cluster, name, plan!.summary);
    });
  },
});
