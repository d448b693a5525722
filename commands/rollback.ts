import { changeCause, inCluster, requireApp } from '../src/chat/apps.js';
import { defineCommand } from '../src/chat/command.js';
import { msg } from '../src/chat/reply.js';
import { followAndReport } from '../src/chat/rollout-report.js';
import { imageOf, revisionOf, rollbackTarget, tagOf, undo } from '../src/kube/rollout.js';

export default defineCommand({
  name: 'rollback',
  aliases: ['回滚'],
  summary: 'cmd.rollback',
  examples: ['rollback order-service', 'rollback order-service 3 @prod'],
  args: [
    { name: 'app', kind: 'word', required: true },
    { name: 'revision', kind: 'int', min: 1 },
  ] as const,
  environment: true,
  mutates: true,
  audited: true,
  async plan(context, args) {
    const { name, app } = requireApp(context, args.app);
    return inCluster(context, async (cluster) => {
      // The same choice the undo makes, made early so the preview says where it goes.
      const { deployment, target } = await rollbackTarget(cluster, name, args.revision);
      const current = imageOf(deployment.spec?.template, name, app.container);
      const replicas = deployment.spec?.replicas ?? 0;
      return {
        app: name,
        summary: msg('rollback.summary', { app: name, revision: revisionOf(target), env: context.environment }),
        preview: [
          {
            type: 'fields',
            fields: [
              { label: msg('field.revision'), value: `${revisionOf(deployment)} → ${revisionOf(target)}` },
              { label: msg('field.image'), value: `${tagOf(current)} → ${tagOf(imageOf(target.spec?.template, name, app.container))}` },
              { label: msg('field.replicas'), value: String(replicas) },
            ],
          },
        ],
        before: { image: current, replicas, revision: revisionOf(deployment) },
        after: { image: imageOf(target.spec?.template, name, app.container), replicas },
      };
    });
  },
  async run(context, args, plan) {
    const { name, app } = requireApp(context, args.app);
    return inCluster(context, async (cluster) => {
      const result = await undo(cluster, name, args.revision, changeCause(context, `rollback ${name}${args.revision ? ` to ${args.revision}` : ''}`), app.container);
      if (result.outcome === 'skipped') {
        context.record({ after: plan!.before, reason: `skipped: already at revision ${result.revision}` });
        return { blocks: [{ type: 'text', text: msg('rollback.skipped', { app: name, revision: result.revision }), tone: 'muted' }] };
      }
      await context.progress({ blocks: [{ type: 'text', text: msg('rollback.started', { app: name, from: result.fromRevision, to: result.toRevision, tag: tagOf(result.image), env: context.environment }) }] });
      return followAndReport(context, cluster, name, plan!.summary);
    });
  },
});
