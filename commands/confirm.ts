import { defineCommand } from '../src/chat/command.js';

export default defineCommand({
  name: 'confirm',
  aliases: ['确认'],
  summary: 'cmd.confirm',
  args: [{ name: 'code', kind: 'word', required: true }] as const,
  audited: 'refusals',
  run: (context, args) => context.services.changes.confirm(args.code, context),
});
