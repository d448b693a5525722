import { alertmanagerRefusal, requireAlertmanager } from '../src/chat/alertmanager.js';
import { defineCommand } from '../src/chat/command.js';
import { formatTime } from '../src/chat/i18n.js';
import { msg } from '../src/chat/reply.js';

const operator = (m: { isRegex: boolean; isEqual?: boolean }) => (m.isRegex ? (m.isEqual === false ? '!~' : '=~') : m.isEqual === false ? '!=' : '=');

export default defineCommand({
  name: 'silences',
  aliases: ['静默列表'],
  summary: 'cmd.silences',
  args: [] as const,
  async run(context) {
    const api = requireAlertmanager(context);
    const silences = (await api.silences().catch(alertmanagerRefusal)).filter((s) => s.status.state !== 'expired');
    if (silences.length === 0) return { blocks: [{ type: 'text', text: msg('silences.none'), tone: 'muted' }] };
    return {
      blocks: [
        { type: 'title', text: msg('silences.title', { count: silences.length }) },
        {
          type: 'list',
          items: silences.map((s) => {
            const matchers = s.matchers.map((m) => `${m.name}${operator(m)}${JSON.stringify(m.value)}`).join(' ');
            return `${s.id.slice(0, 8)} ${matchers} · ${s.createdBy} · ${formatTime(context.locale, context.config.timezone, s.endsAt)}${s.status.state === 'pending' ? ' (pending)' : ''} · ${s.comment}`;
          }),
        },
      ],
    };
  },
});
