import { createHash } from 'node:crypto';
import type { Database } from '../store/database.js';

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

export class AlertClaims {
  readonly #statements;

  constructor(private readonly db: Database) {
    const sql = db.sql;
    this.#statements = {
      get: sql.prepare('SELECT group_id AS groupId, alertname, app, claimed_by AS claimedBy, claimed_at AS claimedAt, since FROM alert_claims WHERE group_id = ?'),
      all: sql.prepare('SELECT group_id AS groupId, alertname, app, claimed_by AS claimedBy, claimed_at AS claimedAt, since FROM alert_claims'),
      put: sql.prepare('INSERT INTO alert_claims (group_id, alertname, app, claimed_by, claimed_at, since) VALUES (@groupId, @alertname, @app, @claimedBy, @claimedAt, @since) ON CONFLICT (group_id) DO UPDATE SET claimed_by = excluded.claimed_by, claimed_at = excluded.claimed_at, since = excluded.since'),
      remove: sql.prepare('DELETE FROM alert_claims WHERE group_id = ?'),
    };
  }

  get(id: string): Claim | undefined {
    return this.#statements.get.get(id) as Claim | undefined;
  }

  all(): Map<string, Claim> {
    return new Map((this.#statements.all.all() as Claim[]).map((claim) => [claim.groupId, claim]));
  }

  put(claim: Claim): void {
    this.db.transaction(() => this.#statements.put.run(claim));
  }

  remove(id: string): void {
    this.db.transaction(() => this.#statements.remove.run(id));
  }
}
