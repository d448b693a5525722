import { defineCommand } from '../src/chat/command.js';

export default defineCommand({
  name: 'approve',
  aliases: ['批准'],
  summary: 'cmd.approve',
  args: [{ name: 'code', kind: 'word', required: true }] as const,
  audited: 'refusals',
  run: (context, args) => context.services.changes.approve(args.code, context),
});
