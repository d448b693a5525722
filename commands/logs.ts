import { inCluster, requireApp } from '../src/chat/apps.js';
import { defineCommand } from '../src/chat/command.js';
import { joinList } from '../src/chat/i18n.js';
import { UserError, msg, type Block } from '../src/chat/reply.js';
import { parseDuration } from '../src/config/duration.js';
import { appLogs } from '../src/kube/reads.js';

/** What a logs reply may hold in all: a few WeCom messages, not a flood. */
const TOTAL_BYTES = 6_000;

export default defineCommand({
  name: 'logs',
  aliases: ['日志'],
  summary: 'cmd.logs',
  examples: ['logs order-service', 'logs order-service order-service-7d9f-abcde --previous', 'logs order-service --since 10m @prod'],
  args: [
    { name: 'app', kind: 'word', required: true },
    { name: 'options', kind: 'rest' },
  ] as const,
  environment: true,
  audited: true,
  async run(context, args) {
    const { name } = requireApp(context, args.app);
    context.record({ app: name });
    let pod: string | undefined;
    let previous = false;
    let sinceSeconds: number | undefined;
    const words = (args.options ?? '').split(' ').filter(Boolean);
    for (let i = 0; i < words.length; i++) {
      const word = words[i]!;
      if (word === '--previous' || word === '-p') previous = true;
      else if (word === '--since') {
        const ms = parseDuration(words[++i] ?? '');
        if (!ms) throw new UserError('logs.badSince', { value: words[i] ?? '' });
        sinceSeconds = Math.ceil(ms / 1000);
      } else if (!pod && /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(word)) pod = word;
      else throw new UserError('error.extraArgs', { args: word.slice(0, 40) });
    }
    return inCluster(context, async (cluster) => {
      const { chunks, pods } = await appLogs(cluster, name, { pod, previous, sinceSeconds, tailLines: 40, limitBytes: 16_384 });
      if (pod && !pods.includes(pod)) throw new UserError('logs.noSuchPod', { pod, app: name, pods: joinList(context.locale, pods) || '-' });
      if (chunks.length === 0) return { blocks: [{ type: 'text', text: msg('logs.noPods', { app: name, env: context.environment }), tone: 'muted' }] };
      // Newest lines matter most: each container's last lines, within an even share of the total.
      const share = Math.floor(TOTAL_BYTES / chunks.length);
      const blocks: Block[] = [{ type: 'title', text: msg('logs.title', { app: name, env: context.environment }) }];
      for (const chunk of chunks) {
        const kept: string[] = [];
        let bytes = 0;
        for (const line of [...chunk.lines].reverse()) {
          const clipped = line.length > 300 ? `${line.slice(0, 300)}…` : line;
          bytes += Buffer.byteLength(clipped) + 1;
          if (bytes > share) break;
          kept.unshift(clipped);
        }
        blocks.push({ type: 'text', text: msg('logs.container', { pod: chunk.pod, container: chunk.container, lines: kept.length }) });
        if (chunk.error) blocks.push({ type: 'text', text: msg('logs.unreadable', { reason: chunk.error }), tone: 'warning' });
        else blocks.push(kept.length ? { type: 'code', lines: kept } : { type: 'text', text: msg('logs.empty'), tone: 'muted' });
      }
      if (!pod && pods.length > 3) blocks.push({ type: 'text', text: msg('logs.morePods', { count: pods.length - 3, app: name }), tone: 'muted' });
      return { blocks };
    });
  },
});
