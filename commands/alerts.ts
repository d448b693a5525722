import { durationText, formatTime, translate } from '../src/chat/i18n.js';
import { defineCommand, type CommandContext } from '../src/chat/command.js';
import { excerpt, tokenize, unquote } from '../src/chat/parse.js';
import { WECOM_USER_ID } from '../src/config/schema.js';
import { msg, strong, UserError, type Block, type Reply, type Text } from '../src/chat/reply.js';
import { firingGroups } from './alert-groups.js';

const MAX_GROUPS = 30;

export default defineCommand({
  name: 'alerts',
  aliases: ['告警'],
  summary: 'cmd.alerts',
  examples: ['alerts', 'alerts @prod', 'alerts card a3f2c1', 'alerts chat create 值班群 lisi zhaoliu wangwu'],
  args: [{ name: 'subcommand', kind: 'rest' }] as const,
  environment: true,
  async run(context, args) {
    if (args.subcommand) {
      const [word, id, ...extra] = tokenize(args.subcommand);
      if (word?.toLowerCase() === 'card' && id && extra.length === 0) return groupCard(context, id);
      return createChat(context, args.subcommand);
    }
    // Without @env every alert shows: a firing prod critical must never hide behind the default environment. With
    // one, alerts that name an environment (an env or environment label) must name that one; others always show.
    const env = context.environmentNamed ? context.environment : translate(context.locale, 'alerts.allEnvironments');
    const { groups, groupCount, alertCount } = await firingGroups(context, context.environmentNamed ? { environment: context.environment } : {}, MAX_GROUPS);
    if (alertCount === 0) return { blocks: [{ type: 'text', text: msg('alerts.noneFiring', { env }), tone: 'success' }] };
    const items: Text[] = groups.map((g) => [
      `#${g.id} 🔥${g.count} `,
      strong(g.alertname),
      `${g.app ? ` · ${g.app}` : ''} · ${g.severity} · ${formatTime(context.locale, context.config.timezone, new Date(g.since))}`,
      g.claim ? [' · ', msg('claim.by', { user: g.claim.claimedBy, ack: durationText(context.locale, g.claim.claimedAt - g.since) })] : '',
    ]);
    const blocks: Block[] = [
      { type: 'title', text: msg('alerts.firingTitle', { count: alertCount, env }), tone: 'warning' },
      { type: 'list', items },
    ];
    if (groupCount > MAX_GROUPS) blocks.push({ type: 'text', text: msg('alerts.moreGroups', { count: groupCount - MAX_GROUPS }), tone: 'muted' });
    return { blocks };
  },
});

/**
 * `alerts card <id>`: an alert group's card as it stands now, firing or resolved (the card's 刷新 button). From a
 * click it replaces the clicked card in place, since a WeCom card changes only once per response code.
 */
async function groupCard(context: CommandContext, typed: string): Promise<Reply> {
  const card = await context.services.alerts.card(typed.replace(/^#/, '').toLowerCase());
  if (!card) throw new UserError('alerts.cardUnknown', { id: excerpt(typed, 20) });
  return { ...card, replaces: context.cardCode };
}

/**
 * `alerts chat create <name> <members…>` (ops): a group chat the app creates (appchat/create), so the `{chat: …}`
 * alert route can be set up from the chat itself. The asker owns it and is a member.
 */
async function createChat(context: CommandContext, text: string): Promise<Reply> {
  const words = tokenize(text).map(unquote);
  if (words[0]?.toLowerCase() !== 'chat' || words[1]?.toLowerCase() !== 'create' || words.length < 4) throw new UserError('alerts.chatUsage');
  if (!context.access.summary(context.user).approve) throw new UserError('alerts.chatOpsOnly');
  const appChats = context.services.appChats;
  if (!appChats) throw new UserError('alerts.chatNoApp');
  const [name, ...listed] = words.slice(2);
  const bad = listed.find((member) => !WECOM_USER_ID.test(member));
  if (bad) throw new UserError('alerts.chatBadMember', { member: excerpt(bad, 40) });
  const members = [...new Set([context.user.id, ...listed.map((member) => member.toLowerCase())])];
  if (members.length < 2) throw new UserError('alerts.chatUsage');
  const chatid = await appChats.create(name!.slice(0, 50), context.user.id, members);
  // A new group shows in older clients only once it has a message (wecom-api.md §4.6).
  await context.notify({ chat: chatid }, { blocks: [{ type: 'text', text: msg('alerts.chatWelcome', { user: context.user.id }) }] });
  return {
    blocks: [
      { type: 'text', tone: 'success', text: msg('alerts.chatCreated', { name: name!, count: members.length, chatid }) },
      { type: 'code', lines: ['alerts:', '  routes:', `    - match: 'severity="critical"'`, `      to: { chat: ${chatid} }`] },
    ],
  };
}
