import { defineCommand } from '../src/chat/command.js';
import { joinList } from '../src/chat/i18n.js';
import { msg } from '../src/chat/reply.js';

export default defineCommand({
  name: 'whoami',
  aliases: ['我是谁'],
  summary: 'cmd.whoami',
  args: [] as const,
  async run({ user, locale, access }) {
    const { commands, environments, approve } = access.summary(user);
    const list = (items: string[] | '*') => (items === '*' ? msg('whoami.all') : joinList(locale, items));
    return {
      blocks: [
        { type: 'title', text: msg('whoami.title') },
        {
          type: 'fields',
          fields: [
            { label: msg('whoami.user'), value: user.id },
            { label: msg('whoami.roles'), value: joinList(locale, user.roles) },
            { label: msg('whoami.commands'), value: list(commands) },
            { label: msg('whoami.environments'), value: list(environments) },
            { label: msg('whoami.approve'), value: msg(approve ? 'whoami.yes' : 'whoami.no') },
          ],
        },
      ],
    };
  },
});
