import { defineCommand } from '../src/chat/command.js';
import { drillsOf, namedEnvironment } from './drill-words.js';

/** `跳过 [note]`: answers the current drill step (the same as `drill skip`). */
export default defineCommand({
  name: 'skip',
  aliases: ['跳过'],
  summary: 'cmd.skip',
  args: [{ name: 'note', kind: 'rest' }] as const,
  environment: true,
  permission: 'drill',
  audited: 'refusals',
  async run(context, args) {
    return drillsOf(context).answer(context.user.id, namedEnvironment(context), 'skip', args.note);
  },
});
