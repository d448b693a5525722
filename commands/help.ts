import { defineCommand, usageText } from '../src/chat/command.js';
import { joinList } from '../src/chat/i18n.js';
import { msg, UserError, type Block, type Text } from '../src/chat/reply.js';

export default defineCommand({
  name: 'help',
  aliases: ['帮助'],
  summary: 'cmd.help',
  args: [{ name: 'command', kind: 'word' }] as const,
  async run({ commands, config, user, locale, access }, { command: wanted }) {
    if (wanted) {
      const lowered = wanted.toLowerCase();
      const command = commands.find((c) => c.name === lowered || c.aliases.some((alias) => alias.toLowerCase() === lowered));
      if (!command) throw new UserError('help.unknown', { name: wanted });
      const blocks: Block[] = [
        { type: 'title', text: `${command.name} · ${command.aliases[0]}` },
        { type: 'text', text: msg(command.summary) },
        {
          type: 'fields',
          fields: [
            { label: msg('help.usage'), value: usageText(command, locale) },
            { label: msg('help.aliases'), value: joinList(locale, command.aliases) },
          ],
        },
      ];
      if (command.examples?.length) blocks.push({ type: 'text', text: msg('help.examples') }, { type: 'code', lines: [...command.examples] });
      const shortcuts = commands.filter((other) => other.shortcutOf === command.name);
      if (shortcuts.length > 0) blocks.push({ type: 'entries', entries: shortcuts.map((other) => ({ term: `${other.aliases[0]} · ${other.name}`, text: msg(other.summary) })) });
      if (command.mutates) blocks.push({ type: 'text', text: msg('help.mutates'), tone: 'warning' });
      if (!access.allows(user, command).ok) blocks.push({ type: 'text', text: msg('help.notAllowed'), tone: 'muted' });
      return { blocks };
    }
    return {
      blocks: [
        { type: 'title', text: msg('help.title') },
        {
          type: 'entries',
          entries: commands.filter((command) => !command.shortcutOf).map((command) => {
            const allowed = access.allows(user, command).ok;
            const text: Text[] = [allowed ? '' : '🔒 ', `${command.aliases[0]} · `, msg(command.summary)];
            return { term: usageText(command, locale), text };
          }),
        },
        { type: 'text', text: msg('help.footer', { env: config.defaultEnvironment }), tone: 'muted' },
        ...(commands.some((command) => !access.allows(user, command).ok) ? [{ type: 'text' as const, text: msg('help.locked'), tone: 'muted' as const }] : []),
      ],
    };
  },
});
