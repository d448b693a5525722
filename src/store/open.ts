import { resolve } from 'node:path';
import type { Config } from '../config/load.js';
import { Database } from './database.js';
import { PostgresClient } from './postgres-client.js';
import type { SqlClient } from './sql.js';
import { SqliteClient } from './sqlite-client.js';

export interface Store {
  sql: SqlClient;
  backend: 'embedded' | 'postgres';
  /** Whether the store takes writes now; readiness answers by it (never by leadership). */
  health(): Promise<{ ok: boolean; detail?: string }>;
  close(): Promise<void>;
}

/** Where a PostgreSQL URL points, without its credentials (for logs and readiness). */
export function describePostgres(url: string): string {
  const parsed = new URL(url);
  return `postgres://${parsed.host}${parsed.pathname}`;
}

/**
 * The store the configuration asks for: PostgreSQL when `store.postgres.url` (WEKUBE_DATABASE_URL) is set, else
 * the embedded SQLite file in the data dir, which needs no server.
 */
export async function openStore(config: Config): Promise<Store> {
  const url = config.store.postgres.url;
  if (url) {
    const where = describePostgres(url);
    let sql: PostgresClient;
    try {
      sql = await PostgresClient.open(url);
    } catch (error) {
      throw new Error(`cannot open the PostgreSQL store at ${where}: ${(error as Error).message}`);
    }
    return {
      sql,
      backend: 'postgres',
      async health() {
        try {
          await Promise.race([sql.get('SELECT 1 AS ok'), new Promise((_, reject) => setTimeout(() => reject(new Error('no answer within 2 s')), 2_000).unref())]);
          return { ok: true, detail: where };
        } catch (error) {
          return { ok: false, detail: `${where}: ${(error as Error).message}` };
        }
      },
      close: () => sql.close(),
    };
  }
  const db = Database.open(resolve(config.store.dataDir));
  return {
    sql: new SqliteClient(db),
    backend: 'embedded',
    async health() {
      // A failed write makes the bot unready until a write succeeds again; the probe finds out without traffic.
      db.probe();
      return db.error ? { ok: false, detail: `${db.error.file}: ${db.error.message}` } : { ok: true, detail: db.file };
    },
    async close() {
      db.close();
    },
  };
}
