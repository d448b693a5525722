import { formatMatchers, parseMatchers } from '../src/alerts/matchers.js';
import { alertmanagerRefusal, requireAlertmanager, withTypedMatchers } from '../src/chat/alertmanager.js';
import { defineCommand } from '../src/chat/command.js';
import { formatTime } from '../src/chat/i18n.js';
import { tokenize, unquote } from '../src/chat/parse.js';
import { msg, UserError } from '../src/chat/reply.js';
import { formatDuration, parseDuration } from '../src/config/duration.js';

const MAX_DURATION_MS = 30 * 86_400_000;

export default defineCommand({
  name: 'silence',
  aliases: ['静默'],
  summary: 'cmd.silence',
  examples: ['silence alertname=EtcdNoLeader 2h 演练', 'silence app=order-service 30分钟'],
  args: [{ name: 'matchers', kind: 'rest', required: true }] as const,
  async run(context, args) {
    const api = requireAlertmanager(context);
    // matchers… then a duration, then an optional comment
    const tokens = tokenize(args.matchers);
    const at = tokens.findIndex((token) => parseDuration(token) !== undefined);
    if (at <= 0) throw new UserError('silence.usage');
    const duration = parseDuration(tokens[at]!)!;
    if (duration <= 0 || duration > MAX_DURATION_MS) throw new UserError('silence.tooLong', { duration: tokens[at]! });
    const matchers = await withTypedMatchers(() => parseMatchers(tokens.slice(0, at).join(' ')));
    const comment = tokens.slice(at + 1).map(unquote).join(' ') || `silenced from WeCom by ${context.user.id}`;
    const startsAt = new Date(context.now());
    const endsAt = new Date(startsAt.getTime() + duration);
    const id = await api.createSilence({ matchers, startsAt, endsAt, createdBy: context.user.id, comment }).catch(alertmanagerRefusal);
    return {
      blocks: [
        { type: 'text', text: msg('silence.created', { matchers: formatMatchers(matchers), duration: formatDuration(duration), until: formatTime(context.locale, context.config.timezone, endsAt) }), tone: 'success' },
        { type: 'fields', fields: [{ label: 'ID', value: id }, { label: msg('silence.comment'), value: comment }] },
        { type: 'text', text: msg('silence.undoHint', { id: id.slice(0, 8) }), tone: 'muted' },
      ],
    };
  },
});
