import { claimHolds, groupId, type Claim } from '../src/alerts/claims.js';
import type { StoredAlert } from '../src/alerts/engine.js';
import type { CommandContext } from '../src/chat/command.js';
import { UserError } from '../src/chat/reply.js';

/** The alerts firing now, grouped by alertname and app, each with its id and (still valid) claim. */
export interface FiringGroup {
  id: string;
  alertname: string;
  app?: string;
  severity: string;
  count: number;
  /** The earliest startsAt of its firing alerts, in ms. */
  since: number;
  claim?: Claim;
}

export async function firingGroups(context: CommandContext, given?: StoredAlert[]): Promise<FiringGroup[]> {
  const alerts = given ?? (await context.services.alerts.firing());
  const claims = await context.services.claims.all();
  const groups = new Map<string, FiringGroup>();
  for (const alert of alerts) {
    const alertname = alert.labels.alertname ?? '?';
    const id = groupId(alertname, alert.labels.app);
    const since = Date.parse(alert.startsAt) || alert.lastSeen;
    const group = groups.get(id);
    if (group) {
      group.count++;
      group.since = Math.min(group.since, since);
    } else {
      groups.set(id, { id, alertname, app: alert.labels.app, severity: alert.labels.severity ?? '-', count: 1, since });
    }
  }
  for (const group of groups.values()) group.claim = claimHolds(claims.get(group.id), group.since);
  return [...groups.values()].sort((a, b) => b.count - a.count);
}

/** The firing group a typed id (with or without #) names. */
export async function requireGroup(context: CommandContext, typed: string): Promise<FiringGroup> {
  const id = typed.replace(/^#/, '').toLowerCase();
  const group = (await firingGroups(context)).find((candidate) => candidate.id === id);
  if (!group) throw new UserError('claim.unknown', { id: typed });
  return group;
}
