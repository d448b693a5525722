import { existsSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { SqlClient, Statement } from './sql.js';

/**
 * What an older wekube kept in lowdb files moves into the database once, at start-up: the rows are committed,
 * then the file is renamed `<name>.json.imported` (kept, not deleted). A file whose table already holds rows is
 * left alone (another replica imported it, or it was imported before the rename). Resolves with how many records
 * the file held.
 */
async function importFile<T>(dataDir: string, sql: SqlClient, name: string, table: string, records: (data: T) => unknown[], insert: (record: never) => Statement): Promise<number> {
  const file = join(dataDir, `${name}.json`);
  if (!existsSync(file)) return 0;
  const all = records(JSON.parse(readFileSync(file, 'utf8')) as T);
  const present = await sql.get<{ n: number }>(`SELECT count(*) AS n FROM ${table}`);
  if (Number(present?.n ?? 0) === 0) {
    for (let i = 0; i < all.length; i += 500) await sql.batch(all.slice(i, i + 500).map((record) => insert(record as never)));
  }
  renameSync(file, `${file}.imported`);
  return all.length;
}

type AuditRecord = { id?: number; at: string; user: string; app?: string; environment?: string; result: string; command: string } & Record<string, unknown>;
type SubscriptionRecord = { user: string; text: string; matchers: unknown; createdAt: string };

type ChangeRecord = { code: string; environment: string; app: string; deadline: number } & Record<string, unknown>;

/** Moves audit.json, subscriptions.json and changes.json (in their order) into the database; resolves with what each held. */
export async function importLowdbFiles(dataDir: string, sql: SqlClient): Promise<Record<string, number>> {
  return {
    audit: await importFile<{ entries?: AuditRecord[] }>(dataDir, sql, 'audit', 'audit', (data) => data.entries ?? [], ({ id: _id, at, ...entry }: AuditRecord) => ({
      sql: 'INSERT INTO audit (at, user_id, app, environment, result, command, entry) VALUES (?, ?, ?, ?, ?, ?, ?)',
      params: [at, entry.user, entry.app ?? null, entry.environment ?? null, entry.result, entry.command, JSON.stringify(entry)],
    })),
    subscriptions: await importFile<{ items?: SubscriptionRecord[] }>(dataDir, sql, 'subscriptions', 'subscriptions', (data) => data.items ?? [], (item: SubscriptionRecord) => ({
      sql: 'INSERT INTO subscriptions (user_id, text, matchers, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (user_id, matchers) DO NOTHING',
      params: [item.user, item.text, JSON.stringify(item.matchers), item.createdAt],
    })),
    changes: await importFile<{ pending?: ChangeRecord[] }>(dataDir, sql, 'changes', 'pending_changes', (data) => data.pending ?? [], (change: ChangeRecord) => ({
      sql: 'INSERT INTO pending_changes (code, environment, app, deadline, version, data) VALUES (?, ?, ?, ?, 1, ?) ON CONFLICT DO NOTHING',
      params: [change.code, change.environment, change.app, change.deadline, JSON.stringify(change)],
    })),
  };
}
