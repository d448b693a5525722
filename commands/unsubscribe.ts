import { defineCommand } from '../src/chat/command.js';
import { msg, UserError } from '../src/chat/reply.js';

export default defineCommand({
  name: 'unsubscribe',
  aliases: ['退订'],
  summary: 'cmd.unsubscribe',
  examples: ['unsubscribe 2', '退订 全部'],
  args: [{ name: 'id', kind: 'word', required: true }] as const,
  async run(context, args) {
    const which = ['all', '全部', '所有'].includes(args.id.toLowerCase()) ? 'all' : /^#?\d+$/.test(args.id) ? Number(args.id.replace('#', '')) : undefined;
    if (which === undefined) throw new UserError('unsubscribe.badId', { id: args.id });
    const removed = await context.services.subscriptions.remove(context.user.id, which);
    if (removed === 0) throw new UserError(which === 'all' ? 'subscribe.none' : 'unsubscribe.unknown', { id: args.id });
    return { blocks: [{ type: 'text', text: msg('unsubscribe.done', { count: removed }), tone: 'success' }] };
  },
});
