// The one seam between repositories and the database engine. A repository speaks SQL that both engines run (`?`
// placeholders, `ON CONFLICT`, `RETURNING`, integers for booleans and times in ms) through this interface; the
// embedded backend (SQLite, sqlite-client.ts) and the PostgreSQL backend (postgres-client.ts) implement it and pass
// the same contract tests (test/store/repositories.test.ts).

export type Param = string | number | null;

/**
 * A condition (`EXISTS (…)`) that holds only while this replica leads in its current term: a leader's side-effecting
 * writes carry it, so a deposed leader's late write changes nothing (store/leadership.ts).
 */
export type Fence = () => { sql: string; params: readonly Param[] };

/** The database's clock in ms, as SQL: what replicas compare lease times with, whatever their own clocks say. */
export const DB_NOW_MS = { postgres: '(extract(epoch from clock_timestamp()) * 1000)::bigint', sqlite: "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)" } as const;

/** The fence as SQL and params for a WHERE clause; with no fence (the embedded store, one replica), always true. */
export const fenced = (fence: Fence | undefined): { sql: string; params: readonly Param[] } => fence?.() ?? { sql: '1 = 1', params: [] };

export interface Statement {
  sql: string;
  params?: readonly Param[];
}

/** Statements one at a time: on their own (each committed), or inside a transaction. */
export interface SqlRunner {
  /** The rows of one statement (a SELECT, or a write with RETURNING). */
  all<T>(sql: string, params?: readonly Param[]): Promise<T[]>;
  get<T>(sql: string, params?: readonly Param[]): Promise<T | undefined>;
  /** A write: resolves with how many rows it changed (on its own: once committed and durable). */
  run(sql: string, params?: readonly Param[]): Promise<number>;
}

export interface SqlClient extends SqlRunner {
  readonly dialect: 'sqlite' | 'postgres';
  /**
   * `work` in one transaction, reading and writing through `tx`; resolved once committed and durable. Anything
   * `work` throws rolls all of it back and is thrown again. Transactions never interleave on the embedded
   * backend; on PostgreSQL, concurrent ones see each other's commits only (use row or advisory locks where a
   * decision depends on a read).
   */
  transaction<T>(work: (tx: SqlRunner) => Promise<T>): Promise<T>;
  /**
   * Statements in one transaction, all or nothing, resolved once committed and durable with each statement's rows
   * (for RETURNING) and changes. A statement uses an earlier one's results only through SQL, so the transaction
   * never waits on anything outside the database.
   */
  batch(statements: readonly Statement[]): Promise<{ rows: unknown[]; changes: number }[]>;
  close(): Promise<void>;
}

/** A unique constraint refused the write (SQLite's SQLITE_CONSTRAINT_UNIQUE / PRIMARYKEY, PostgreSQL's 23505). */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: string }).code ?? '';
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
