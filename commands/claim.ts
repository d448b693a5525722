import { defineCommand } from '../src/chat/command.js';
import { msg, UserError } from '../src/chat/reply.js';
import { durationText } from '../src/chat/i18n.js';
import { requireGroup } from './alert-groups.js';

/** `claim <id>`: take an alert group; `alerts` and the group's card show who and when, and the time to acknowledge. */
export default defineCommand({
  name: 'claim',
  aliases: ['认领'],
  summary: 'cmd.claim',
  examples: ['claim a3f2c1'],
  args: [{ name: 'id', kind: 'word', required: true }] as const,
  audited: true,
  async run(context, args) {
    const group = await requireGroup(context, args.id);
    if (group.claim && group.claim.claimedBy !== context.user.id) throw new UserError('claim.taken', { id: group.id, user: group.claim.claimedBy, alertname: group.alertname });
    const now = context.now();
    await context.services.claims.put({ groupId: group.id, alertname: group.alertname, app: group.app ?? '', claimedBy: context.user.id, claimedAt: now, since: group.since });
    context.record({ app: group.app });
    // Everyone's card of the group shows who took it; a click's own card is replaced by the click's answer.
    const clicked = context.cardCode ? await context.services.alerts.card(group.id) : undefined;
    await context.services.alerts.updateCard(group.id, { except: clicked ? context.user.id : undefined });
    if (clicked) return { ...clicked, replaces: context.cardCode };
    return {
      blocks: [{ type: 'text', tone: 'success', text: msg('claim.done', { id: group.id, alertname: group.alertname, app: group.app ?? '-', ack: durationText(context.locale, now - group.since) }) }],
    };
  },
});
