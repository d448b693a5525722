import type BetterSqlite3 from 'better-sqlite3';
import type { Database } from './database.js';
import type { Param, SqlClient, Statement } from './sql.js';

/**
 * The embedded backend of the SQL seam: the bot's own SQLite file (database.ts). Each call runs synchronously in
 * one transaction, so nothing else interleaves with it, and resolves after the group fsync that covers it.
 */
export class SqliteClient implements SqlClient {
  readonly dialect = 'sqlite';

  constructor(private readonly db: Database) {}

  #statement(sql: string): BetterSqlite3.Statement {
    return this.db.prepared(sql);
  }

  async all<T>(sql: string, params: readonly Param[] = []): Promise<T[]> {
    const statement = this.#statement(sql);
    // A write (RETURNING rows or not) goes through a transaction and the group fsync; a read answers at once.
    if (!statement.readonly) return (await this.batch([{ sql, params }]))[0]!.rows as T[];
    return statement.all(...params) as T[];
  }

  async get<T>(sql: string, params: readonly Param[] = []): Promise<T | undefined> {
    return (await this.all<T>(sql, params))[0];
  }

  async run(sql: string, params: readonly Param[] = []): Promise<number> {
    return (await this.batch([{ sql, params }]))[0]!.changes;
  }

  async batch(statements: readonly Statement[]): Promise<{ rows: unknown[]; changes: number }[]> {
    const results = this.db.transaction(() =>
      statements.map(({ sql, params = [] }) => {
        const statement = this.#statement(sql);
        if (statement.reader) {
          const rows = statement.all(...params);
          return { rows, changes: rows.length };
        }
        return { rows: [], changes: statement.run(...params).changes };
      }),
    );
    await this.db.durable();
    return results;
  }

  /** The database file is the bot's; whoever opened it closes it. */
  async close(): Promise<void> {}
}
