import { inCluster, requireApp } from '../src/chat/apps.js';
import { formatTime } from '../src/chat/i18n.js';
import { defineCommand } from '../src/chat/command.js';
import { msg, type Block, type Text, type Tone } from '../src/chat/reply.js';
import { imageOf, rolloutState, statusReport, tagOf, type RolloutState } from '../src/kube/rollout.js';

/** kubectl's rollout status sentences, in the user's language. */
const WAITING = { spec: 'status.waitingSpec', updated: 'status.waitingUpdated', old: 'status.waitingOld', available: 'status.waitingAvailable' } as const;

const stateText = (state: RolloutState, paused: boolean): { text: Text; tone: Tone } => {
  if (paused) return { text: msg('status.paused'), tone: 'warning' };
  if (state.done) return { text: msg('status.complete'), tone: 'success' };
  if (state.failed) return { text: msg('status.failed', { reason: state.reason }), tone: 'error' };
  const detail = msg(WAITING[state.waitingFor], { current: state.counts.current, of: state.counts.of });
  return { text: [msg('status.progressing', { detail: '' }), detail], tone: 'info' };
};

export default defineCommand({
  name: 'status',
  aliases: ['状态'],
  summary: 'cmd.status',
  examples: ['status', 'status order-service @prod'],
  args: [{ name: 'app', kind: 'word' }] as const,
  environment: true,
  audited: true,
  async run(context, args) {
    if (!args.app) {
      // One line per managed app, from one list of the namespace's Deployments.
      return inCluster(context, async (cluster) => {
        const list = await cluster.apps.listNamespacedDeployment({ namespace: cluster.namespace });
        const byName = new Map(list.items.map((d) => [d.metadata?.name, d]));
        const lines = Object.keys(context.config.apps).map((name) => {
          const deployment = byName.get(name);
          if (!deployment) return msg('status.lineMissing', { app: name });
          const state = stateText(rolloutState(deployment), deployment.spec?.paused ?? false);
          const line: Text = msg('status.line', { app: name, ready: deployment.status?.readyReplicas ?? 0, desired: deployment.spec?.replicas ?? 0, tag: tagOf(imageOf(deployment.spec?.template, name, context.config.apps[name]?.container)) });
          return [line, ' · ', state.text];
        });
        return { blocks: [{ type: 'title', text: msg('status.allTitle', { env: context.environment, namespace: cluster.namespace }) }, { type: 'list', items: lines }] };
      });
    }
    const { name, app } = requireApp(context, args.app);
    context.record({ app: name });
    return inCluster(context, async (cluster) => {
      const report = await statusReport(cluster, name, app.container);
      const state = stateText(report.state, report.paused);
      const blocks: Block[] = [
        { type: 'title', text: msg('status.title', { app: name, env: context.environment }) },
        { type: 'text', text: state.text, tone: state.tone },
        {
          type: 'fields',
          fields: [
            { label: msg('field.replicas'), value: msg('status.replicas', { desired: report.desired, updated: report.updated, ready: report.ready, available: report.available }) },
            { label: msg('field.image'), value: report.image },
            { label: msg('field.revision'), value: String(report.revision) },
          ],
        },
      ];
      if (report.autoscaler) blocks.push({ type: 'text', text: msg('status.autoscaler', { hpa: report.autoscaler.name, min: report.autoscaler.min, max: report.autoscaler.max }), tone: 'muted' });
      if (report.problems.length > 0) {
        blocks.push({ type: 'text', text: msg('status.unhealthy', { count: report.problems.length }), tone: 'warning' });
        blocks.push({
          type: 'list',
          items: report.problems.slice(0, 5).map((p) => `${p.pod}: ${p.reason}${p.restarts ? ` (${p.restarts}×)` : ''}${p.lastMessage ? ` — ${p.lastMessage}` : p.message ? ` — ${p.message}` : ''}`),
        });
      }
      if (report.warnings.length > 0) {
        blocks.push({ type: 'text', text: msg('status.warnings'), tone: 'muted' });
        blocks.push({
          type: 'list',
          items: report.warnings.map((w) => `${formatTime(context.locale, context.config.timezone, w.at)} ${w.object} ${w.reason}${w.count > 1 ? ` ×${w.count}` : ''}: ${w.message}`),
        });
      }
      return { blocks };
    });
  },
});
