import pg from 'pg';
import { POSTGRES_MIGRATIONS } from './postgres-migrations.js';
import type { Param, SqlClient, SqlRunner, Statement } from './sql.js';

/** Any constant: the advisory lock that lets one replica at a time migrate the schema. */
const MIGRATION_LOCK = 0x77656b75;

/** `?` placeholders as PostgreSQL's `$1…$n` (repository SQL holds no `?` inside literals). */
export function numbered(sql: string): string {
  let index = 0;
  return sql.replace(/\?/g, () => `$${++index}`);
}

/** BIGINT (times in ms, ids) as JavaScript numbers: every value wekube stores fits in 2^53. */
const types = {
  getTypeParser: ((oid: number, format?: string) => (oid === 20 ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format as 'text'))) as typeof pg.types.getTypeParser,
};

/**
 * How long a statement may go unanswered before it fails. A database host that is gone (powered off, cut off by the
 * network) refuses nothing: a statement sent to it would wait until TCP gives up, about a quarter of an hour, holding
 * its connection; once every pooled connection is held so, the replica could not reach even a database that is back
 * at once elsewhere (a failover). Every statement wekube runs takes milliseconds, migrations aside.
 */
const QUERY_TIMEOUT_MS = 10_000;
/** How long a migration at start-up may take: it may rebuild a big table (see #migrate). */
const MIGRATION_TIMEOUT_MS = 30 * 60_000;
/** The rollback after a failure: the connection is closed after it anyway, which ends the transaction too. */
const ROLLBACK_TIMEOUT_MS = 1_000;

/**
 * The PostgreSQL backend of the SQL seam, for two or more replicas (`store.postgres.url` / `WEKUBE_DATABASE_URL`).
 * Every statement and batch is one transaction on a pooled connection; PostgreSQL's commit is durable (its WAL is
 * flushed) before it returns. Migrations run at start-up under an advisory lock, so replicas starting together
 * apply them once.
 */
export class PostgresClient implements SqlClient {
  readonly dialect = 'postgres';

  private constructor(private readonly pool: pg.Pool) {}

  static async open(url: string, options: { max?: number; queryTimeoutMs?: number } = {}): Promise<PostgresClient> {
    const pool = new pg.Pool({ connectionString: url, max: options.max ?? 10, types, connectionTimeoutMillis: 5_000, query_timeout: options.queryTimeoutMs ?? QUERY_TIMEOUT_MS });
    // An idle connection the server dropped (a restart) is replaced on the next query; the error is not fatal.
    pool.on('error', () => {});
    const client = new PostgresClient(pool);
    try {
      await client.#migrate();
    } catch (error) {
      await pool.end().catch(() => {});
      throw error;
    }
    return client;
  }

  async #migrate(): Promise<void> {
    await this.#inTransaction(async (connection) => {
      // A migration may rebuild a big table, and a replica starting meanwhile waits that long for the lock.
      const query = <R extends pg.QueryResultRow>(text: string, values?: Param[]) => connection.query<R>({ text, values, query_timeout: MIGRATION_TIMEOUT_MS } as pg.QueryConfig);
      await query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await query('CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
      const row = (await query<{ value: string }>("SELECT value FROM meta WHERE key = 'schema'")).rows[0];
      const current = row ? Number(row.value) : 0;
      if (current > POSTGRES_MIGRATIONS.length) throw new Error(`the database's schema version ${current} is newer than this wekube knows (${POSTGRES_MIGRATIONS.length})`);
      for (let version = current; version < POSTGRES_MIGRATIONS.length; version++) await query(POSTGRES_MIGRATIONS[version]!);
      await query("INSERT INTO meta (key, value) VALUES ('schema', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [String(POSTGRES_MIGRATIONS.length)]);
    });
  }

  async all<T>(sql: string, params: readonly Param[] = []): Promise<T[]> {
    return (await this.pool.query(numbered(sql), params as Param[])).rows as T[];
  }

  async get<T>(sql: string, params: readonly Param[] = []): Promise<T | undefined> {
    return (await this.all<T>(sql, params))[0];
  }

  async run(sql: string, params: readonly Param[] = []): Promise<number> {
    return (await this.pool.query(numbered(sql), params as Param[])).rowCount ?? 0;
  }

  async batch(statements: readonly Statement[]): Promise<{ rows: unknown[]; changes: number }[]> {
    return this.#inTransaction(async (connection) => {
      const results: { rows: unknown[]; changes: number }[] = [];
      for (const { sql, params = [] } of statements) {
        const result = await connection.query(numbered(sql), params as Param[]);
        results.push({ rows: result.rows, changes: result.rowCount ?? 0 });
      }
      return results;
    });
  }

  transaction<T>(work: (tx: SqlRunner) => Promise<T>): Promise<T> {
    return this.#inTransaction((connection) => {
      const query = (sql: string, params: readonly Param[] = []) => connection.query(numbered(sql), params as Param[]);
      return work({
        all: async <R>(sql: string, params?: readonly Param[]) => (await query(sql, params)).rows as R[],
        get: async <R>(sql: string, params?: readonly Param[]) => (await query(sql, params)).rows[0] as R | undefined,
        run: async (sql: string, params?: readonly Param[]) => (await query(sql, params)).rowCount ?? 0,
      });
    });
  }

  async #inTransaction<T>(work: (connection: pg.PoolClient) => Promise<T>): Promise<T> {
    const connection = await this.#connect();
    let failed: Error | undefined;
    try {
      await connection.query('BEGIN');
      const result = await work(connection);
      await connection.query('COMMIT');
      return result;
    } catch (error) {
      failed = error as Error;
      // Without waiting long behind a statement that never returned.
      await connection.query({ text: 'ROLLBACK', query_timeout: ROLLBACK_TIMEOUT_MS } as pg.QueryConfig).catch(() => {});
      throw error;
    } finally {
      connection.release(failed);
    }
  }

  /**
   * A connection of its own. The server dropping it while it is checked out (a restart, a failover) is emitted on
   * the connection, where nobody would hear it and the process would die: it is heard here, the query under way
   * fails with it, and a connection released after a failure is closed rather than returned to the pool.
   */
  async #connect(): Promise<pg.PoolClient> {
    const connection = await this.pool.connect();
    const ignore = () => {};
    connection.on('error', ignore);
    const release = connection.release.bind(connection);
    connection.release = (error?: Error | boolean) => {
      connection.off('error', ignore);
      release(error);
    };
    return connection;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
