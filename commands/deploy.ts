import { changeCause, inCluster, requireApp } from '../src/chat/apps.js';
import { defineCommand } from '../src/chat/command.js';
import { UserError, msg } from '../src/chat/reply.js';
import { followAndReport } from '../src/chat/rollout-report.js';
import { apply, getDeployment, imageOf, revisionOf, tagOf } from '../src/kube/rollout.js';
import { appVariables, configuredReplicas, render, TAG } from '../src/kube/template.js';

export default defineCommand({
  name: 'deploy',
  aliases: ['发布'],
  summary: 'cmd.deploy',
  args: [
    { name: 'app', kind: 'word', required: true },
    { name: 'tag', kind: 'word', required: true },
  ] as const,
  environment: true,
  mutates: true,
  audited: true,
  async plan(context, args) {
    const { name, app } = requireApp(context, args.app);
    if (!TAG.test(args.tag)) throw new UserError('deploy.badTag', { tag: args.tag });
    const image = `${app.image}:${args.tag}`;
    return inCluster(context, async (cluster) => {
      const existing = await getDeployment(cluster, name);
      // A deploy keeps the replica count it finds: it never undoes a `scale`.
      const replicas = existing?.spec?.replicas ?? configuredReplicas(app, context.environment);
      const before = existing ? { image: imageOf(existing.spec?.template), replicas, revision: revisionOf(existing) } : undefined;
      return {
        app: name,
        summary: msg('deploy.summary', { app: name, tag: args.tag, env: context.environment }),
        preview: [
          {
            type: 'fields',
            fields: [
              { label: msg('field.image'), value: before ? `${tagOf(before.image)} → ${args.tag}` : msg('deploy.firstTime', { tag: args.tag }) },
              { label: msg('field.replicas'), value: String(replicas) },
              { label: msg('field.namespace'), value: cluster.namespace },
            ],
          },
        ],
        before,
        after: { image, replicas },
      };
    });
  },
  async run(context, args, plan) {
    const { name, app } = requireApp(context, args.app);
    return inCluster(context, async (cluster) => {
      const objects = render(
        context.services.template,
        appVariables({
          name,
          app,
          environment: context.environment,
          namespace: cluster.namespace,
          tag: args.tag,
          replicas: plan!.after!.replicas!,
          changeCause: changeCause(context, `deploy ${name} ${args.tag}`),
        }),
      );
      await apply(cluster, objects);
      await context.progress({
        blocks: [{ type: 'text', text: msg('deploy.started', { app: name, from: plan!.before ? tagOf(plan!.before.image ?? '') : '-', to: args.tag, env: context.environment, replicas: plan!.after!.replicas! }) }],
      });
      return followAndReport(context, cluster, name, plan!.summary);
    });
  },
});
