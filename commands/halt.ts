import { defineCommand } from '../src/chat/command.js';
import { drillsOf, runEnvironment } from './drill-words.js';

/** `停止演练`: the emergency stop of the running drill (the same as `drill stop`); any participant may use it. */
export default defineCommand({
  name: 'halt',
  aliases: ['停止演练', '紧急停止'],
  summary: 'cmd.halt',
  shortcutOf: 'drill',
  args: [{ name: 'note', kind: 'rest' }] as const,
  environment: true,
  permission: 'drill',
  audited: 'refusals',
  async run(context, args) {
    return drillsOf(context).abort(context.user.id, runEnvironment(context), args.note, true);
  },
});
