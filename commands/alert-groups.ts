import { claimHolds, type Claim } from '../src/alerts/claims.js';
import type { FiringFilter } from '../src/alerts/engine.js';
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

/**
 * The groups firing now, the most alerts first (the engine counts them from an index, whatever the number of
 * alerts): at most `limit` of them with their names and claims, and how many groups and alerts fire in all.
 */
export async function firingGroups(context: CommandContext, filter: FiringFilter = {}, limit = Infinity): Promise<{ groups: FiringGroup[]; groupCount: number; alertCount: number }> {
  const { alerts, claims } = context.services;
  const counts = await alerts.firingGroups(filter);
  const claimed = await claims.all();
  const groups = await Promise.all(
    counts.slice(0, limit).map(async ({ id, count, since }): Promise<FiringGroup> => {
      const labels = (await alerts.firingSample({ ...filter, group: id }))?.labels ?? {};
      return { id, alertname: labels.alertname ?? '?', app: labels.app, severity: labels.severity ?? '-', count, since, claim: claimHolds(claimed.get(id), since) };
    }),
  );
  return { groups, groupCount: counts.length, alertCount: counts.reduce((sum, group) => sum + group.count, 0) };
}

/** The firing group a typed id (with or without #) names. */
export async function requireGroup(context: CommandContext, typed: string): Promise<FiringGroup> {
  const id = typed.replace(/^#/, '').toLowerCase();
  const [group] = (await firingGroups(context, { group: id })).groups;
  if (!group) throw new UserError('claim.unknown', { id: typed });
  return group;
}
