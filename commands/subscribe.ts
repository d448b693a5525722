import { withTypedMatchers } from '../src/chat/alertmanager.js';
import { defineCommand } from '../src/chat/command.js';
import { formatTime, joinList } from '../src/chat/i18n.js';
import { msg, type Block } from '../src/chat/reply.js';

export default defineCommand({
  name: 'subscribe',
  aliases: ['订阅'],
  summary: 'cmd.subscribe',
  examples: ['subscribe app=order-service', 'subscribe severity=~"warning|critical" env=prod'],
  args: [{ name: 'matchers', kind: 'rest' }] as const,
  async run(context, args) {
    const { subscriptions } = context.services;
    if (args.matchers) {
      const text = args.matchers;
      const { subscription, existed } = await withTypedMatchers(() => subscriptions.add(context.user.id, text, new Date(context.now())));
      return { blocks: [{ type: 'text', text: msg(existed ? 'subscribe.exists' : 'subscribe.added', { id: subscription.id, matchers: subscription.text }), tone: 'success' }] };
    }
    const mine = subscriptions.of(context.user.id);
    const owned = Object.entries(context.config.apps).filter(([, app]) => app.owners.includes(context.user.id)).map(([name]) => name);
    const blocks: Block[] = [{ type: 'title', text: msg('subscribe.title') }];
    blocks.push(
      mine.length
        ? { type: 'list', items: mine.map((s) => `#${s.id} ${s.text} · ${formatTime(context.locale, context.config.timezone, s.createdAt)}`) }
        : { type: 'text', text: msg('subscribe.none'), tone: 'muted' },
    );
    if (owned.length) blocks.push({ type: 'text', text: msg('subscribe.owner', { apps: joinList(context.locale, owned) }), tone: 'muted' });
    return { blocks };
  },
});
