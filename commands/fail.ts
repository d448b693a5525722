import { defineCommand } from '../src/chat/command.js';
import { drillsOf, namedEnvironment } from './drill-words.js';

/** `失败 [note]`: answers the current drill step (the same as `drill fail`). */
export default defineCommand({
  name: 'fail',
  aliases: ['失败'],
  summary: 'cmd.fail',
  args: [{ name: 'note', kind: 'rest' }] as const,
  environment: true,
  permission: 'drill',
  audited: 'refusals',
  async run(context, args) {
    return drillsOf(context).answer(context.user.id, namedEnvironment(context), 'fail', args.note);
  },
});
