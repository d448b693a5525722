import { formatTime, isMessageKey, translate, type Locale } from '../src/chat/i18n.js';
import type { AuditEntry } from '../src/chat/audit.js';
import type { AppState } from '../src/chat/audit.js';
import { defineCommand } from '../src/chat/command.js';
import { msg } from '../src/chat/reply.js';
import { tagOf } from '../src/kube/rollout.js';

const state = (s: AppState | undefined) => (s ? [s.image ? tagOf(s.image) : undefined, s.replicas !== undefined ? `×${s.replicas}` : undefined, s.revision ? `#${s.revision}` : undefined].filter(Boolean).join(' ') : '');

const RESULTS = { ok: 'audit.ok', refused: 'audit.refused', failed: 'audit.failed', pending: 'audit.pending', cancelled: 'audit.cancelled', expired: 'audit.expired' } as const;

/** A reason wekube gave, in the user's language; the cluster's own words as they came. */
function reasonText(locale: Locale, entry: AuditEntry): string {
  if (!entry.reason || !isMessageKey(entry.reason)) return entry.reason ?? '';
  return translate(locale, entry.reason, entry.reasonParams).replace(/\{\w+\}/g, '…');
}

export default defineCommand({
  name: 'audit',
  aliases: ['审计'],
  summary: 'cmd.audit',
  args: [{ name: 'count', kind: 'int', min: 1 }] as const,
  async run(context, args) {
    const count = Math.min(args.count ?? 10, 50);
    const entries = await context.services.audit.recent(count);
    if (entries.length === 0) return { blocks: [{ type: 'text', text: msg('audit.none') }] };
    return {
      blocks: [
        { type: 'title', text: msg('audit.title', { count: entries.length }) },
        {
          type: 'list',
          items: entries.map((e) => {
            const change = e.before || e.after ? ` [${state(e.before) || '-'} → ${state(e.after) || '-'}]` : '';
            const approvals = e.approvals?.length ? ` ✓${e.approvals.join(',')}` : '';
            return `${formatTime(context.locale, context.config.timezone, e.at)} ${e.user} \`${e.command}\`${e.environment ? ` @${e.environment}` : ''} → ${translate(context.locale, RESULTS[e.result])}${e.reason ? `（${reasonText(context.locale, e)}）` : ''}${change}${approvals}`;
          }),
        },
      ],
    };
  },
});
