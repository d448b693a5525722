import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Database } from '../../src/store/database.js';
import { PostgresClient } from '../../src/store/postgres-client.js';
import type { SqlClient } from '../../src/store/sql.js';
import { SqliteClient } from '../../src/store/sqlite-client.js';
import { afterAll, beforeAll } from 'vitest';
import { startPostgres, type RunningPostgres } from './postgres.js';

/** A store backend for a part's tests on both: the embedded SQLite file and a real PostgreSQL server. */
export interface StoreBackend {
  name: string;
  /** A new place for the state (a data dir, a database), for a restart to open again. */
  place(): Promise<string>;
  open(place: string): Promise<{ sql: SqlClient; close(): Promise<void> }>;
}

/** Both backends, for a test file to run its tests on each; starts the PostgreSQL server for the file and stops it after. */
export function storeBackends(prefix: string): StoreBackend[] {
  let postgres: RunningPostgres | undefined;
  beforeAll(async () => {
    postgres = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    await postgres?.stop();
  });
  return [
    {
      name: 'embedded (SQLite)',
      place: async () => mkdtempSync(join(tmpdir(), `wekube-${prefix}-`)),
      async open(place) {
        const db = Database.open(place);
        return { sql: new SqliteClient(db), close: async () => db.close() };
      },
    },
    {
      name: 'PostgreSQL',
      place: () => postgres!.database(prefix),
      async open(place) {
        const sql = await PostgresClient.open(place);
        return { sql, close: () => sql.close() };
      },
    },
  ];
}
