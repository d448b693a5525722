import { defineCommand } from '../src/chat/command.js';
import { drillsOf, namedEnvironment } from './drill-words.js';

/** `完成 [note]`: answers the current drill step (the same as `drill done`). */
export default defineCommand({
  name: 'done',
  aliases: ['完成'],
  summary: 'cmd.done',
  args: [{ name: 'note', kind: 'rest' }] as const,
  environment: true,
  permission: 'drill',
  audited: 'refusals',
  async run(context, args) {
    return drillsOf(context).answer(context.user.id, namedEnvironment(context), 'done', args.note);
  },
});
