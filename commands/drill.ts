import { durationText, formatTime } from '../src/chat/i18n.js';
import { defineCommand, type CommandContext } from '../src/chat/command.js';
import { tokenize, unquote } from '../src/chat/parse.js';
import { msg, UserError, type Block, type Reply, type Text } from '../src/chat/reply.js';
import { drillsOf, runEnvironment } from './drill-words.js';

/** Sub-commands and the words people type for them. */
const SUBCOMMANDS: Record<string, string> = {
  list: 'list', 列表: 'list', ls: 'list',
  start: 'start', 开始: 'start', 启动: 'start',
  done: 'done', 完成: 'done',
  fail: 'fail', 失败: 'fail',
  skip: 'skip', 跳过: 'skip',
  abort: 'abort', 中止: 'abort', 终止: 'abort',
  stop: 'stop', 停止: 'stop',
  resume: 'resume', 继续: 'resume',
  status: 'status', 状态: 'status',
  report: 'report', 报告: 'report',
  history: 'history', 历史: 'history',
};

function parse(rest: string | undefined): { sub: string; words: string[]; text: string } {
  const words = tokenize(rest ?? '').map(unquote);
  const first = words[0]?.toLowerCase();
  const sub = first === undefined ? 'list' : SUBCOMMANDS[first];
  if (!sub) throw new UserError('drill.unknownSub', { sub: first!, subs: 'list, start, done, fail, skip, abort, stop, resume, status, report, history' });
  return { sub, words: words.slice(1), text: words.slice(1).join(' ') };
}

/** `start <name> [param=value …]` */
function startArgs(words: string[]): { name: string; params: Record<string, string> } {
  const [name, ...rest] = words;
  if (!name) throw new UserError('drill.startUsage');
  const params: Record<string, string> = {};
  for (const word of rest) {
    const match = /^([a-zA-Z][a-zA-Z0-9_]*)=(.+)$/.exec(word);
    if (!match) throw new UserError('drill.badParam', { word });
    params[match[1]!] = match[2]!;
  }
  return { name: name.toLowerCase(), params };
}

async function list(context: CommandContext): Promise<Reply> {
  const drills = drillsOf(context);
  const items: Text[] = [];
  for (const checklist of drills.checklists.values()) {
    const [last] = await drills.history(checklist.name);
    const parts: Text[] = [{ strong: checklist.name }, ` ${checklist.title}`];
    if (checklist.rto !== undefined) parts.push(' · ', msg('drill.rto', { rto: durationText(context.locale, checklist.rto) }));
    parts.push(' · ', last ? [msg('drill.lastRun', { id: last.id, env: last.environment, at: formatTime(context.locale, context.config.timezone, new Date(last.startedAt)) }), msg(`drill.status.${last.status}`)] : msg('drill.neverRun'));
    const due = await drills.due(checklist.name);
    if (due.length > 0) parts.push(' · ', msg('drill.due', { envs: due.map((env) => `@${env}`).join(' ') }));
    items.push(parts);
  }
  const blocks: Block[] = [{ type: 'title', text: msg('drill.listTitle') }, { type: 'list', items }];
  for (const run of drills.activeRuns()) blocks.push({ type: 'text', text: msg('drill.activeRun', { id: run.id, drill: run.drill, env: run.environment, step: run.current + 1, total: run.steps.length }), tone: 'info' });
  blocks.push({ type: 'text', text: msg('drill.listHint'), tone: 'muted' });
  return { blocks };
}

export default defineCommand({
  name: 'drill',
  aliases: ['演练'],
  summary: 'cmd.drill',
  examples: ['drill list', 'drill start etcd-member-loss @prod', 'drill start node-failure node=node-3 @prod', 'drill done 已停止 etcd-2', 'drill status', 'drill report 12'],
  args: [{ name: 'subcommand', kind: 'rest' }] as const,
  environment: true,
  audited: 'refusals',
  // Starting a drill in a protected environment is confirmed (and approved) like a change.
  mutates: (args) => parse(args.subcommand).sub === 'start',
  async plan(context, args) {
    const { name, params } = startArgs(parse(args.subcommand).words);
    const { checklist } = drillsOf(context).prepare(name, context.environment, params);
    const preview: Block[] = [{ type: 'list', items: checklist.steps.map((step, index) => `${index + 1}. ${step.title}`) }];
    if (Object.keys(params).length > 0) preview.push({ type: 'code', lines: Object.entries(params).map(([key, value]) => `${key}=${value}`) });
    return { app: `drill:${checklist.name}`, summary: msg('drill.startSummary', { drill: checklist.name, title: checklist.title, env: context.environment }), preview };
  },
  async run(context, args) {
    const { sub, words, text } = parse(args.subcommand);
    const drills = () => drillsOf(context);
    const user = context.user.id;
    const env = () => runEnvironment(context);
    switch (sub) {
      case 'list':
        return list(context);
      case 'start': {
        const { name, params } = startArgs(words);
        return drills().start(user, name, context.environment, params);
      }
      case 'done':
      case 'fail':
      case 'skip':
        return drills().answer(user, env(), sub, text || undefined, context.cardCode);
      case 'abort':
        return drills().abort(user, env(), text || undefined);
      case 'stop':
        return drills().abort(user, env(), text || undefined, true);
      case 'resume':
        return drills().resumeRun(user, env());
      case 'status':
        return drills().status(user, env());
      case 'report': {
        const id = words[0]?.replace(/^#/, '');
        if (id !== undefined && !/^\d{1,9}$/.test(id)) throw new UserError('drill.badId', { id });
        return drills().report(id === undefined ? undefined : Number(id), user);
      }
      case 'history': {
        const runs = await drills().history(words[0]?.toLowerCase());
        if (runs.length === 0) return { blocks: [{ type: 'text', text: msg('drill.noRuns'), tone: 'muted' }] };
        return {
          blocks: [
            { type: 'title', text: msg('drill.historyTitle') },
            {
              type: 'list',
              items: runs.map((run) => [
                `#${run.id} ${run.drill} @${run.environment} · ${formatTime(context.locale, context.config.timezone, new Date(run.startedAt))} · `,
                msg(`drill.status.${run.status}`),
                run.endedAt !== undefined ? ` · ${durationText(context.locale, run.endedAt - run.startedAt)}` : '',
              ]),
            },
            { type: 'text', text: msg('drill.historyHint'), tone: 'muted' },
          ],
        };
      }
    }
    throw new UserError('drill.unknownSub', { sub, subs: Object.keys(SUBCOMMANDS).join(', ') });
  },
});
