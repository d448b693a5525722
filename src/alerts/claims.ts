import { createHash } from 'node:crypto';
import type { SqlClient } from '../store/sql.js';

/**
 * Claims: the on-call engineer takes an alert group (one alertname for one app) so the team knows someone is on it.
 * A group has a short id (`alerts` shows it, cards carry it): the first 6 hex digits of a hash of alertname and
 * app, so it stays the same for as long as the group fires, across restarts and replicas.
 */
export const groupId = (alertname: string, app: string | undefined): string =>
  createHash('sha256').update(`${alertname}\u0000${app ?? ''}`).digest('hex').slice(0, 6);

export interface Claim {
  groupId: string;
  alertname: string;
  app: string;
  claimedBy: string;
  claimedAt: number;
  /** When the group began firing: claimedAt − since is the time to acknowledge. */
  since: number;
}

const COLUMNS = 'group_id AS "groupId", alertname, app, claimed_by AS "claimedBy", claimed_at AS "claimedAt", since';

/** A claim holds for the firing it was made on: a group that resolved and fires again (since later) starts unclaimed. */
export const claimHolds = (claim: Claim | undefined, since: number): Claim | undefined => (claim && claim.claimedAt >= since ? claim : undefined);

/** Who took which alert group, one row per group, shared by every replica. */
export class AlertClaims {
  constructor(private readonly sql: SqlClient) {}

  get(id: string): Promise<Claim | undefined> {
    return this.sql.get<Claim>(`SELECT ${COLUMNS} FROM alert_claims WHERE group_id = ?`, [id]);
  }

  async all(): Promise<Map<string, Claim>> {
    return new Map((await this.sql.all<Claim>(`SELECT ${COLUMNS} FROM alert_claims`)).map((claim) => [claim.groupId, claim]));
  }

  async put(claim: Claim): Promise<void> {
    await this.sql.run(
      'INSERT INTO alert_claims (group_id, alertname, app, claimed_by, claimed_at, since) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (group_id) DO UPDATE SET claimed_by = excluded.claimed_by, claimed_at = excluded.claimed_at, since = excluded.since',
      [claim.groupId, claim.alertname, claim.app, claim.claimedBy, claim.claimedAt, claim.since],
    );
  }

  async remove(id: string): Promise<void> {
    await this.sql.run('DELETE FROM alert_claims WHERE group_id = ?', [id]);
  }
}
