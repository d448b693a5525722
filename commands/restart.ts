import { changeCause, inCluster, requireApp } from '../src/chat/apps.js';
import { defineCommand } from '../src/chat/command.js';
import { msg } from '../src/chat/reply.js';
import { followAndReport } from '../src/chat/rollout-report.js';
import { imageOf, requireDeployment, restart, revisionOf, RolloutError, tagOf } from '../src/kube/rollout.js';

export default defineCommand({
  name: 'restart',
  aliases: ['重启'],
  summary: 'cmd.restart',
  examples: ['restart order-service @test'],
  args: [{ name: 'app', kind: 'word', required: true }] as const,
  environment: true,
  mutates: true,
  audited: true,
  async plan(context, args) {
    const { name, app } = requireApp(context, args.app);
    return inCluster(context, async (cluster) => {
      const deployment = await requireDeployment(cluster, name);
      if (deployment.spec?.paused) throw new RolloutError('paused', { app: name });
      const state = { image: imageOf(deployment.spec?.template, name, app.container), replicas: deployment.spec?.replicas ?? 0, revision: revisionOf(deployment) };
      return {
        app: name,
        summary: msg('restart.summary', { app: name, env: context.environment }),
        preview: [
          {
            type: 'fields',
            fields: [
              { label: msg('field.image'), value: tagOf(state.image) },
              { label: msg('field.replicas'), value: msg('restart.rolling', { n: state.replicas }) },
            ],
          },
        ],
        before: state,
        after: { image: state.image, replicas: state.replicas },
      };
    });
  },
  async run(context, args, plan) {
    const { name } = requireApp(context, args.app);
    return inCluster(context, async (cluster) => {
      await restart(cluster, name, new Date(context.now()), changeCause(context, `restart ${name}`));
      await context.progress({ blocks: [{ type: 'text', text: msg('restart.started', { app: name, env: context.environment }) }] });
      return followAndReport(context, cluster, name, plan!.summary);
    });
  },
});
