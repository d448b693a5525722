import type { SqlClient } from '../store/sql.js';

/** What an app looked like before or after a change. */
export interface AppState {
  image?: string;
  replicas?: number;
  revision?: number;
}

export type AuditResult = 'ok' | 'refused' | 'failed' | 'pending' | 'cancelled' | 'expired';

export interface AuditEntry {
  id: number;
  at: string;
  user: string;
  /** The command as typed, after normalisation. */
  command: string;
  environment?: string;
  app?: string;
  result: AuditResult;
  /** Why it was refused or failed, or what it was waiting for. */
  /** A catalog key (with `reasonParams`) when wekube refused or decided; the cluster's words when it failed. */
  reason?: string;
  reasonParams?: Record<string, string | number>;
  before?: AppState;
  after?: AppState;
  /** For a protected change: who asked, the code, who approved. */
  requester?: string;
  code?: string;
  approvals?: string[];
}

const audited = new WeakSet<object>();

/** Marks an error as already in the audit log, so the router does not record it a second time. */
export function markAudited<T>(error: T): T {
  if (typeof error === 'object' && error !== null) audited.add(error);
  return error;
}

export const isAudited = (error: unknown): boolean => typeof error === 'object' && error !== null && audited.has(error);

/** What `recent` may narrow the log to; each filter is a column, so a lookup stays an index read. */
export interface AuditFilter {
  app?: string;
  environment?: string;
  result?: AuditResult;
  /** The command as typed starts with this (`scale`). */
  commandPrefix?: string;
}

/**
 * Every command that reads or changes a cluster, refusals included, in the order they happened. Append-only: one
 * row per entry (never a rewrite of the whole log), the oldest going beyond `maxEntries` so it stays bounded.
 */
export class AuditLog {
  private constructor(
    private readonly sql: SqlClient,
    private readonly options: { maxEntries: number; now: () => number },
  ) {}

  static async open(sql: SqlClient, options: { maxEntries?: number; now?: () => number } = {}): Promise<AuditLog> {
    return new AuditLog(sql, { maxEntries: options.maxEntries ?? 20_000, now: options.now ?? Date.now });
  }

  /** Resolves once the entry is on disk. */
  async record(entry: Omit<AuditEntry, 'id' | 'at'>): Promise<AuditEntry> {
    // A copy: callers keep mutating their objects (a change's approvals grow), the log must not change with them.
    const copy = structuredClone(entry);
    const at = new Date(this.options.now()).toISOString();
    const [inserted] = await this.sql.batch([
      {
        sql: 'INSERT INTO audit (at, user_id, app, environment, result, command, entry) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id',
        params: [at, copy.user, copy.app ?? null, copy.environment ?? null, copy.result, copy.command, JSON.stringify(copy)],
      },
      // Bounded through the primary key: what is more than maxEntries behind the newest goes.
      { sql: 'DELETE FROM audit WHERE id <= (SELECT max(id) FROM audit) - ?', params: [this.options.maxEntries] },
    ]);
    return { id: (inserted!.rows[0] as { id: number }).id, at, ...copy };
  }

  /** The newest `count` entries, newest first. */
  async recent(count: number, filter: AuditFilter = {}): Promise<AuditEntry[]> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (filter.app !== undefined) where.push('app = ?'), params.push(filter.app);
    if (filter.environment !== undefined) where.push('environment = ?'), params.push(filter.environment);
    if (filter.result !== undefined) where.push('result = ?'), params.push(filter.result);
    if (filter.commandPrefix !== undefined) where.push('substr(command, 1, ?) = ?'), params.push(filter.commandPrefix.length, filter.commandPrefix);
    const rows = await this.sql.all<{ id: number; at: string; entry: string }>(
      `SELECT id, at, entry FROM audit${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`,
      [...params, count],
    );
    return rows.map((row) => ({ id: row.id, at: row.at, ...(JSON.parse(row.entry) as Omit<AuditEntry, 'id' | 'at'>) }));
  }
}
