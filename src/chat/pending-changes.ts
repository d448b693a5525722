import type { SqlClient } from '../store/sql.js';
import type { PendingChange } from './changes.js';

/** A pending change as read, with the version a save must still find (compare-and-set). */
export type StoredChange = PendingChange & { version: number };

interface Row {
  data: string;
  version: number;
}

const fromRow = (row: Row): StoredChange => ({ ...(JSON.parse(row.data) as PendingChange), version: row.version });

/**
 * Protected changes waiting for confirmation or approvals, one row each, shared by every replica. The database
 * keeps the rules that must hold when two people (or two replicas) act at once: one code per change, one waiting
 * change per app and environment, a save that loses to a newer one fails instead of overwriting it, and a change is
 * removed (run, cancelled, expired) exactly once.
 */
export class PendingChanges {
  constructor(private readonly sql: SqlClient) {}

  async byCode(code: string): Promise<StoredChange | undefined> {
    const row = await this.sql.get<Row>('SELECT data, version FROM pending_changes WHERE code = ?', [code]);
    return row && fromRow(row);
  }

  async forApp(environment: string, app: string): Promise<StoredChange | undefined> {
    const row = await this.sql.get<Row>('SELECT data, version FROM pending_changes WHERE environment = ? AND app = ?', [environment, app]);
    return row && fromRow(row);
  }

  /** `code-taken` or `app-taken` when a unique rule refused it. */
  async create(change: PendingChange): Promise<'created' | 'code-taken' | 'app-taken'> {
    const inserted = await this.sql.run('INSERT INTO pending_changes (code, environment, app, deadline, version, data) VALUES (?, ?, ?, ?, 1, ?) ON CONFLICT DO NOTHING', [
      change.code,
      change.environment,
      change.app,
      change.deadline,
      JSON.stringify(change),
    ]);
    if (inserted === 1) return 'created';
    return (await this.forApp(change.environment, change.app)) ? 'app-taken' : 'code-taken';
  }

  /** Saves a change read at `change.version`; false when it changed (or went) since. */
  async save(change: StoredChange): Promise<boolean> {
    const { version, ...data } = change;
    const saved = await this.sql.run('UPDATE pending_changes SET data = ?, deadline = ?, version = version + 1 WHERE code = ? AND version = ?', [JSON.stringify(data), change.deadline, change.code, version]);
    if (saved === 1) change.version = version + 1;
    return saved === 1;
  }

  /** Removes it; false when it was already gone (someone else ran, cancelled or expired it). */
  async remove(code: string): Promise<boolean> {
    return (await this.sql.run('DELETE FROM pending_changes WHERE code = ?', [code])) === 1;
  }

  /** Removes and returns the changes whose deadline has passed. */
  async expire(now: number): Promise<PendingChange[]> {
    const rows = await this.sql.all<Row>('DELETE FROM pending_changes WHERE deadline < ? RETURNING data, version', [now]);
    return rows.map(fromRow);
  }
}
