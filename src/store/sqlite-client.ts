import type { Database } from './database.js';
import type { Param, SqlClient, SqlRunner, Statement } from './sql.js';

type Results = { rows: unknown[]; changes: number }[];
type Outcome = { results: Results; durable: Promise<void> } | { error: unknown };

/**
 * The embedded backend of the SQL seam: the bot's own SQLite file (database.ts). One connection, so everything
 * takes turns: a transaction holds the connection until it commits, and statements on their own wait for it.
 *
 * Writes commit in groups. A batch asked for while the log is being fsync'd could not be durable before the next
 * fsync anyway, so it waits for the one under way to finish, and then every batch that waited commits in one
 * transaction (each in its own savepoint: one that fails is rolled back and rejected alone) that the next fsync
 * covers. SQLite writes each page a commit touches to the log again, so one commit for a dozen callbacks writes
 * a twelfth of the pages that a dozen commits would. Anything else that takes the connection (a read, an
 * interactive transaction) commits the waiting writes first, so everything still happens in the order asked.
 */
export class SqliteClient implements SqlClient {
  readonly dialect = 'sqlite';
  /** The turn of whoever uses the connection now. */
  #turn: Promise<unknown> = Promise.resolve();
  /** Turns taken and not yet finished: none means the connection is free now. */
  #turns = 0;
  /** Batches waiting for their group commit, in the order asked. */
  #writes: { statements: readonly Statement[]; settle: (outcome: Outcome) => void }[] = [];

  constructor(private readonly db: Database) {}

  /** Runs `use` when the connection is free; nothing else uses it until `use` settles. */
  #exclusive<T>(use: () => T | Promise<T>): Promise<T> {
    this.#turns++;
    const run = () => {
      this.#commitWrites();
      return use();
    };
    const result = this.#turn.then(run, run);
    this.#turn = result.then(
      () => this.#turns--,
      () => this.#turns--,
    );
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

  async batch(statements: readonly Statement[]): Promise<Results> {
    const committed = new Promise<Outcome>((settle) => this.#writes.push({ statements, settle }));
    if (this.#writes.length === 1) this.db.whenSyncIdle(() => this.#writesDue());
    const outcome = await committed;
    if ('error' in outcome) throw outcome.error;
    await outcome.durable;
    return outcome.results;
  }

  /** The fsync the waiting writes needed to miss is over: commit them now, or as soon as the connection is free. */
  #writesDue(): void {
    if (this.#writes.length === 0) return;
    if (this.#turns === 0) this.#commitWrites();
    else void this.#exclusive(() => {});
  }

  /** Commits every waiting batch in one transaction, each in its own savepoint, and settles each with its outcome. */
  #commitWrites(): void {
    if (this.#writes.length === 0) return;
    const group = this.#writes;
    this.#writes = [];
    let outcomes: ({ results: Results } | { error: unknown })[];
    try {
      outcomes = this.db.transaction(() =>
        group.map(({ statements }) => {
          const execute = () => statements.map(({ sql, params = [] }) => this.#execute(sql, params));
          try {
            // A single statement that fails takes back its own changes (SQLite's statement rollback): no savepoint needed.
            return { results: statements.length === 1 ? execute() : this.db.transaction(execute) };
          } catch (error) {
            // A failure SQLite answers by rolling back the whole transaction (a full disk) fails the whole group.
            if (!this.db.sql.inTransaction) throw error;
            return { error };
          }
        }),
      );
    } catch (error) {
      for (const write of group) write.settle({ error });
      return;
    }
    const durable = this.db.durable();
    durable.catch(() => {}); // each batch awaits it and sees its failure
    group.forEach((write, i) => {
      const outcome = outcomes[i]!;
      write.settle('error' in outcome ? outcome : { results: outcome.results, durable });
    });
  }

  async transaction<T>(work: (tx: SqlRunner) => Promise<T>): Promise<T> {
    const result = await this.#exclusive(() => this.db.transactionAsync(() => work(this.#inside)));
    await this.db.durable();
    return result;
  }

  /** The database file is the bot's; whoever opened it closes it. */
  async close(): Promise<void> {}
}
