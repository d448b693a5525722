// Why the audit log left lowdb: the cost of one audited command's append as the log grows, in lowdb (every append
// rewrites the whole document, here with lowdb's own JSONFile adapter: a temporary file renamed, no fsync) and in
// the database (one row, durable before it resolves).
// Run: npm run bench -- audit-append [--appends 500] [--levels 0,5000,20000]
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AuditLog } from '../src/chat/audit.js';
import { Database } from '../src/store/database.js';
import { SqliteClient } from '../src/store/sqlite-client.js';
import { JSONFile } from 'lowdb/node';
import { Low } from 'lowdb';
import { percentile, report } from './report.js';

const entry = (i: number) => ({ user: 'lisi', command: `scale order-service ${i % 9} @prod`, environment: 'prod', app: 'order-service', result: 'ok' as const, before: { replicas: 3, image: 'registry/shop/order:1.4.1' }, after: { replicas: 4, image: 'registry/shop/order:1.4.1' } });

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { appends: { type: 'string', default: '500' }, levels: { type: 'string', default: '0,5000,20000' } } });
  const appends = Number(values.appends);
  const figures: Record<string, string> = {};
  for (const level of values.levels.split(',').map(Number)) {
    // lowdb, as wekube kept the log until now: the whole document written on every append.
    const document = new Low<{ seq: number; entries: unknown[] }>(new JSONFile(join(mkdtempSync(join(tmpdir(), 'wekube-bench-lowdb-')), 'audit.json')), { seq: 0, entries: [] });
    for (let i = 0; i < level; i++) document.data.entries.push({ id: ++document.data.seq, at: new Date().toISOString(), ...entry(i) });
    await document.write();
    const lowdb: number[] = [];
    for (let i = 0; i < appends; i++) {
      const t0 = performance.now();
      document.data.entries.push({ id: ++document.data.seq, at: new Date().toISOString(), ...entry(i) });
      await document.write();
      lowdb.push(performance.now() - t0);
    }
    const audit = await AuditLog.open(new SqliteClient(Database.open(mkdtempSync(join(tmpdir(), 'wekube-bench-sqlite-')))), { maxEntries: 100_000 });
    for (let i = 0; i < level; i += 1) await audit.record(entry(i));
    const sqlite: number[] = [];
    for (let i = 0; i < appends; i++) {
      const t0 = performance.now();
      await audit.record(entry(i));
      sqlite.push(performance.now() - t0);
    }
    const row = (values: number[]) => `p50 ${percentile(values, 50).toFixed(2)} ms  p99 ${percentile(values, 99).toFixed(2)} ms`;
    figures[`${level} entries: lowdb`] = row(lowdb);
    figures[`${level} entries: database`] = row(sqlite);
  }
  report(`audit append, one at a time (${appends} appends per level)`, figures, { name: 'audit-append' });
}
