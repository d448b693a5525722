import { alertmanagerRefusal, requireAlertmanager } from '../src/chat/alertmanager.js';
import { defineCommand } from '../src/chat/command.js';
import { msg, UserError } from '../src/chat/reply.js';

export default defineCommand({
  name: 'unsilence',
  aliases: ['取消静默'],
  summary: 'cmd.unsilence',
  args: [{ name: 'id', kind: 'word', required: true }] as const,
  async run(context, args) {
    const api = requireAlertmanager(context);
    // The id, or any unique prefix of it (silences shows the first 8 characters).
    const candidates = (await api.silences().catch(alertmanagerRefusal)).filter((s) => s.status.state !== 'expired' && s.id.startsWith(args.id));
    if (candidates.length === 0) throw new UserError('unsilence.unknown', { id: args.id });
    if (candidates.length > 1) throw new UserError('unsilence.ambiguous', { id: args.id, count: candidates.length });
    const silence = candidates[0]!;
    await api.expireSilence(silence.id).catch(alertmanagerRefusal);
    return { blocks: [{ type: 'text', text: msg('unsilence.done', { id: silence.id.slice(0, 8) }), tone: 'success' }] };
  },
});
