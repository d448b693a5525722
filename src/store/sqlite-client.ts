import type { Database } from './database.js';
import type { Param, SqlClient, SqlRunner, Statement } from './sql.js';

/**
 * The embedded backend of the SQL seam: the bot's own SQLite file (database.ts). One connection, so everything
 * takes turns: a transaction holds the connection until it commits, and statements on their own wait for it. Each
 * write resolves after the group fsync that covers it.
 */
export class SqliteClient implements SqlClient {
  readonly dialect = 'sqlite';
  /** The turn of whoever uses the connection now. */
  #turn: Promise<unknown> = Promise.resolve();

  constructor(private readonly db: Database) {}

  /** Runs `use` when the connection is free; nothing else uses it until `use` settles. */
  #exclusive<T>(use: () => T | Promise<T>): Promise<T> {
    const result = this.#turn.then(use, use);
    this.#turn = result.catch(() => {});
    return result;
  }

  /** Statements inside the transaction that holds the connection: run at once, in order. */
  readonly #inside: SqlRunner = {
    all: async <T>(sql: string, params: readonly Param[] = []) => this.#rows(sql, params) as T[],
    get: async <T>(sql: string, params: readonly Param[] = []) => this.#rows(sql, params)[0] as T | undefined,
    run: async (sql: string, params: readonly Param[] = []) => this.#execute(sql, params).changes,
  };

  #rows(sql: string, params: readonly Param[]): unknown[] {
    return this.#execute(sql, params).rows;
  }

  #execute(sql: string, params: readonly Param[]): { rows: unknown[]; changes: number } {
    const statement = this.db.prepared(sql);
    if (statement.reader) {
      const rows = statement.all(...params);
      return { rows, changes: rows.length };
    }
    return { rows: [], changes: statement.run(...params).changes };
  }

  async all<T>(sql: string, params: readonly Param[] = []): Promise<T[]> {
    // A write (RETURNING rows or not) goes through a transaction and the group fsync; a read answers in turn.
    if (!this.db.prepared(sql).readonly) return (await this.batch([{ sql, params }]))[0]!.rows as T[];
    return this.#exclusive(() => this.#rows(sql, params) as T[]);
  }

  async get<T>(sql: string, params: readonly Param[] = []): Promise<T | undefined> {
    return (await this.all<T>(sql, params))[0];
  }

  async run(sql: string, params: readonly Param[] = []): Promise<number> {
    return (await this.batch([{ sql, params }]))[0]!.changes;
  }

  async batch(statements: readonly Statement[]): Promise<{ rows: unknown[]; changes: number }[]> {
    const results = await this.#exclusive(() => this.db.transaction(() => statements.map(({ sql, params = [] }) => this.#execute(sql, params))));
    await this.db.durable();
    return results;
  }

  async transaction<T>(work: (tx: SqlRunner) => Promise<T>): Promise<T> {
    const result = await this.#exclusive(() => this.db.transactionAsync(() => work(this.#inside)));
    await this.db.durable();
    return result;
  }

  /** The database file is the bot's; whoever opened it closes it. */
  async close(): Promise<void> {}
}
