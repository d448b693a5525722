import { defineCommand } from '../src/chat/command.js';

export default defineCommand({
  name: 'cancel',
  aliases: ['取消'],
  summary: 'cmd.cancel',
  args: [{ name: 'code', kind: 'word', required: true }] as const,
  audited: 'refusals',
  run: (context, args) => context.services.changes.cancel(args.code, context),
});
