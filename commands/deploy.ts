import type { V1Deployment } from '@kubernetes/client-node';
import { changeCause, inCluster, requireApp } from '../src/chat/apps.js';
import { defineCommand, type CommandContext } from '../src/chat/command.js';
import { joinList } from '../src/chat/i18n.js';
import { UserError, msg, type Block } from '../src/chat/reply.js';
import { followAndReport } from '../src/chat/rollout-report.js';
import type { AppConfig } from '../src/config/schema.js';
import type { Cluster } from '../src/kube/clusters.js';
import { externalOwner, immutableChanges, manageMode, setImage, type ManageDecision } from '../src/kube/manage.js';
import { apply, chooseContainer, getDeployment, imageOf, revisionOf, tagOf } from '../src/kube/rollout.js';
import { appVariables, configuredReplicas, render, TAG } from '../src/kube/template.js';

/** What a deploy will do, worked out from the Deployment as it is now: at planning, and again when it runs. */
interface DeployWork {
  existing?: V1Deployment;
  decision: ManageDecision;
  /** Image mode: the container whose image changes. */
  container?: string;
  /** Template mode: the objects to apply. */
  objects?: ReturnType<typeof render>;
  replicas: number;
  beforeImage?: string;
  owner?: string;
  /** The registry could not say whether the tag exists. */
  registryWarning?: string;
}

/** The tag must exist in the app's registry before anything is applied (when the registry is configured). */
async function checkTag(context: CommandContext, name: string, app: AppConfig, tag: string): Promise<string | undefined> {
  const { registries } = context.services;
  const settings = registries.for(app.image);
  if (!settings) return undefined;
  const check = await registries.checkTag(app.image, tag);
  if ('found' in check && check.found) return undefined;
  if ('found' in check) {
    throw new UserError(check.nearest.length ? 'deploy.noTag' : 'deploy.noTags', { app: name, tag, image: app.image, nearest: joinList(context.locale, check.nearest) });
  }
  if (settings.required) throw new UserError('deploy.registryRequired', { image: app.image, reason: check.reason });
  return check.reason;
}

async function work(context: CommandContext, cluster: Cluster, name: string, app: AppConfig, tag: string, cause: string): Promise<DeployWork> {
  const registryWarning = await checkTag(context, name, app, tag);
  const existing = await getDeployment(cluster, name);
  const decision = manageMode(app, context.environment, existing);
  const owner = existing ? externalOwner(existing) : undefined;
  if (owner && context.config.environments[context.environment]?.protected && !app.allowExternalOwner) {
    throw new UserError('deploy.ownedRefused', { app: name, owner, env: context.environment });
  }
  // A deploy keeps the replica count it finds: it never undoes a `scale`.
  const replicas = existing?.spec?.replicas ?? configuredReplicas(app, context.environment);
  if (decision.mode === 'image') {
    if (!existing) throw new UserError('deploy.imageNeedsDeployment', { app: name, namespace: cluster.namespace });
    const choice = chooseContainer(existing.spec?.template, app.container, name);
    if (!choice.ok) {
      const containers = joinList(context.locale, choice.containers);
      throw choice.problem === 'missing'
        ? new UserError('deploy.containerMissing', { app: name, container: choice.wanted!, containers })
        : new UserError('deploy.containerAmbiguous', { app: name, containers });
    }
    return { existing, decision, container: choice.container.name, replicas, beforeImage: choice.container.image, owner, registryWarning };
  }
  const objects = render(context.services.template, appVariables({ name, app, environment: context.environment, namespace: cluster.namespace, tag, replicas, changeCause: cause }));
  if (existing) {
    const deployment = objects.find((object) => object.kind === 'Deployment' && object.metadata?.name === name) as V1Deployment;
    const immutable = immutableChanges(existing, deployment);
    if (immutable.length > 0) throw new UserError('deploy.immutable', { app: name, fields: immutable.join(', ') });
  }
  return { existing, decision, objects, replicas, beforeImage: existing ? imageOf(existing.spec?.template, name, app.container) : undefined, owner, registryWarning };
}

const MODE_KEYS = { template: 'deploy.modeTemplate', image: 'deploy.modeImage' } as const;

export default defineCommand({
  name: 'deploy',
  aliases: ['发布'],
  summary: 'cmd.deploy',
  examples: ['deploy order-service 1.4.2', 'deploy order-service 1.4.2 @prod'],
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
      const planned = await work(context, cluster, name, app, args.tag, '');
      const before = planned.existing ? { image: planned.beforeImage, replicas: planned.replicas, revision: revisionOf(planned.existing) } : undefined;
      const preview: Block[] = [
        {
          type: 'fields',
          fields: [
            { label: msg('field.image'), value: before ? `${tagOf(before.image ?? '')} → ${args.tag}` : msg('deploy.firstTime', { tag: args.tag }) },
            { label: msg('field.replicas'), value: String(planned.replicas) },
            { label: msg('field.namespace'), value: cluster.namespace },
            { label: msg('field.mode'), value: msg(MODE_KEYS[planned.decision.mode], { container: planned.container ?? '' }) },
          ],
        },
      ];
      if (planned.decision.why === 'foreign') preview.push({ type: 'text', text: msg('deploy.foreignApp', { app: name }), tone: 'muted' });
      if (planned.owner) preview.push({ type: 'text', text: msg('deploy.ownedWarning', { owner: planned.owner }), tone: 'warning' });
      if (planned.registryWarning) preview.push({ type: 'text', text: msg('deploy.registryUnknown', { image: app.image, reason: planned.registryWarning }), tone: 'warning' });
      return { app: name, summary: msg('deploy.summary', { app: name, tag: args.tag, env: context.environment }), preview, before, after: { image, replicas: planned.replicas } };
    });
  },
  async run(context, args, plan) {
    const { name, app } = requireApp(context, args.app);
    const image = `${app.image}:${args.tag}`;
    const cause = changeCause(context, `deploy ${name} ${args.tag}`);
    return inCluster(context, async (cluster) => {
      // Planned again: a protected change may have waited for its approval while the Deployment changed.
      const current = await work(context, cluster, name, app, args.tag, cause);
      if (current.registryWarning && !context.config.environments[context.environment]?.protected) {
        await context.progress({ blocks: [{ type: 'text', text: msg('deploy.registryUnknown', { image: app.image, reason: current.registryWarning }), tone: 'warning' }] });
      }
      if (current.container) await setImage(cluster, name, current.container, image, cause, current.existing?.metadata?.resourceVersion);
      else await apply(cluster, current.objects!);
      await context.progress({
        blocks: [{ type: 'text', text: msg('deploy.started', { app: name, from: current.beforeImage ? tagOf(current.beforeImage) : '-', to: args.tag, env: context.environment, replicas: current.replicas }) }],
      });
      if (plan?.after?.replicas !== undefined && plan.after.replicas !== current.replicas) {
        await context.progress({ blocks: [{ type: 'text', text: msg('deploy.replicasChanged', { planned: plan.after.replicas, now: current.replicas }), tone: 'muted' }] });
      }
      return followAndReport(context, cluster, name, plan!.summary);
    });
  },
});
