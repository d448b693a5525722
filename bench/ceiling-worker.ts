// The worker thread of ceiling-server.ts: wekube's callback checks and inbox row, unchanged, on a thread of their
// own, with the cheapest group commit there is: every callback that came in one turn of the worker's loop is
// inserted in one transaction, then the log is fsync'd right here (blocking only this thread), then all are answered.
import { fsyncSync, openSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { Database } from '../src/store/database.js';
import type { SqlClient } from '../src/store/sql.js';
import { CallbackCrypto } from '../src/wecom/crypto.js';
import { Inbox } from '../src/wecom/inbox.js';
import { parseEnvelope, parseMessage } from '../src/wecom/messages.js';

export interface Job {
  id: number;
  signature: string;
  timestamp: string;
  nonce: string;
  body: string;
}
export interface Outcome {
  id: number;
  status: number;
}

const { token, aesKey, corpId, dataDir, fsync } = workerData as { token: string; aesKey: string; corpId: string; dataDir: string; fsync: boolean };
const database = Database.open(dataDir);
// Statements run at once on this thread's connection, inside whatever transaction is open: all the inbox needs.
const direct = {
  dialect: 'sqlite',
  all: async (sql: string, params: string[] = []) => database.prepared(sql).all(...params),
  get: async (sql: string, params: string[] = []) => database.prepared(sql).get(...params),
  run: async (sql: string, params: string[] = []) => database.prepared(sql).run(...params).changes,
} as unknown as SqlClient;
const inbox = await Inbox.open(direct, { retentionMs: 86_400_000 });
const crypto = new CallbackCrypto(token, aesKey, corpId);
let log: number | undefined;

/** The checks, then the row (inserted before this returns: `direct` runs it at once). */
async function accept(job: Job): Promise<Outcome> {
  try {
    const envelope = parseEnvelope(job.body);
    await inbox.accept(parseMessage(crypto.open(job.signature, job.timestamp, job.nonce, envelope.encrypt)));
    return { id: job.id, status: 200 };
  } catch {
    return { id: job.id, status: 403 };
  }
}

let pending: Job[] = [];
async function commit(): Promise<void> {
  const jobs = pending;
  pending = [];
  let outcomes: Promise<Outcome>[] = [];
  database.transaction(() => {
    outcomes = jobs.map(accept);
  });
  if (fsync) fsyncSync((log ??= openSync(`${database.file}-wal`, 'r')));
  parentPort!.postMessage(await Promise.all(outcomes));
}

parentPort!.on('message', (jobs: Job[]) => {
  if (pending.length === 0) setImmediate(() => void commit());
  pending.push(...jobs);
});
