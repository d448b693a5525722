import type { Cluster } from '../kube/clusters.js';
import { followRollout } from '../kube/follow.js';
import { imageOf, revisionOf, tagOf } from '../kube/rollout.js';
import type { CommandContext } from './command.js';
import { msg, type Block, type Reply, type Text } from './reply.js';

/**
 * Follows the rollout a change started and reports it: progress while it runs (throttled), then success, or
 * failure with the reason a human needs, or "still rolling out" when it outlives the bot's wait.
 */
export async function followAndReport(context: CommandContext, cluster: Cluster, app: string, summary: Text): Promise<Reply> {
  const { rollout } = context.config;
  const outcome = await followRollout(cluster, app, {
    timeoutMs: rollout.wait,
    progressIntervalMs: rollout.progressInterval,
    onProgress: (progress) =>
      void context
        .progress({ blocks: [{ type: 'text', text: msg('rollout.progress', { app, env: context.environment, available: progress.available, updated: progress.updated, desired: progress.desired }), tone: 'muted' }] })
        .catch(() => undefined),
    now: context.now,
  });
  const { deployment } = outcome;
  const after = { image: imageOf(deployment.spec?.template, app, context.config.apps[app]?.container), replicas: deployment.spec?.replicas ?? 0, revision: revisionOf(deployment) };
  context.record({ after });
  const fields = [
    { label: msg('field.revision'), value: String(after.revision) },
    { label: msg('field.image'), value: tagOf(after.image) },
    { label: msg('field.replicas'), value: `${outcome.progress.available}/${outcome.progress.desired}` },
    { label: msg('field.took'), value: msg('unit.seconds', { n: outcome.seconds }) },
  ];
  if (outcome.state === 'complete') {
    return { blocks: [{ type: 'title', text: [summary, ' ', msg('rollout.done')], tone: 'success' }, { type: 'fields', fields }] };
  }
  if (outcome.state === 'timeout') {
    return {
      blocks: [
        { type: 'title', text: [summary, ' ', msg('rollout.stillRunning')], tone: 'warning' },
        { type: 'fields', fields },
        { type: 'text', text: msg('rollout.checkLater', { app, env: context.environment }), tone: 'muted' },
      ],
    };
  }
  context.record({ result: 'failed', reason: `${outcome.reason}: ${outcome.message}`.slice(0, 300) });
  const blocks: Block[] = [
    { type: 'title', text: [summary, ' ', msg('rollout.failed')], tone: 'error' },
    { type: 'fields', fields: [{ label: msg('field.reason'), value: outcome.reason }, ...fields] },
  ];
  if (outcome.problem) {
    blocks.push({ type: 'text', text: msg('rollout.pod', { pod: outcome.problem.pod, message: outcome.problem.message || outcome.problem.reason }) });
    if (outcome.problem.lastMessage) blocks.push({ type: 'text', text: msg('rollout.lastMessage', { restarts: outcome.problem.restarts }) }, { type: 'code', lines: [outcome.problem.lastMessage] });
  } else if (outcome.message) {
    blocks.push({ type: 'text', text: outcome.message });
  }
  blocks.push({ type: 'text', text: msg('rollout.rollbackHint', { app, env: context.environment }), tone: 'muted' });
  return { blocks };
}
