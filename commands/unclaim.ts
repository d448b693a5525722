import { defineCommand } from '../src/chat/command.js';
import { msg, UserError } from '../src/chat/reply.js';
import { requireGroup } from './alert-groups.js';

/** `unclaim <id>`: give an alert group back (its claimer, or someone who may approve). */
export default defineCommand({
  name: 'unclaim',
  aliases: ['取消认领'],
  summary: 'cmd.unclaim',
  shortcutOf: 'claim',
  args: [{ name: 'id', kind: 'word', required: true }] as const,
  audited: true,
  async run(context, args) {
    const group = await requireGroup(context, args.id);
    if (!group.claim) throw new UserError('claim.notClaimed', { id: group.id });
    const mayUnclaim = group.claim.claimedBy === context.user.id || context.access.summary(context.user).approve;
    if (!mayUnclaim) throw new UserError('claim.notYours', { id: group.id, user: group.claim.claimedBy });
    await context.services.claims.remove(group.id);
    await context.services.alerts.updateCard(group.id);
    return { blocks: [{ type: 'text', tone: 'muted', text: msg('claim.undone', { id: group.id, alertname: group.alertname }) }] };
  },
});
