import type { Database } from '../store/database.js';
import type { InboundMessage } from './messages.js';

/**
 * Every accepted callback, by dedup key, committed before the ack. WeCom retries a callback up to three times;
 * a key seen before is acknowledged and never run again. The state tells a restart what to do:
 * `received` (acked, never started) runs now; `started` (cut off mid-run) is reported to the sender, not re-run.
 * A callback whose row could not be committed was answered 5xx and left no row, so WeCom's retry runs it.
 */
export type InboxState = 'received' | 'started' | 'done';

export interface InboxOptions {
  /** How long keys are remembered; longer than the callback timestamp window, so replays stay refused. */
  retentionMs: number;
  maxEntries?: number;
  now?: () => number;
}

export class Inbox {
  readonly #now: () => number;
  readonly #statements;

  constructor(
    private readonly db: Database,
    private readonly options: InboxOptions,
  ) {
    this.#now = options.now ?? Date.now;
    const sql = db.sql;
    this.#statements = {
      insert: sql.prepare('INSERT INTO inbox (key, at, state, message) VALUES (?, ?, ?, ?) ON CONFLICT (key) DO NOTHING'),
      setState: sql.prepare("UPDATE inbox SET state = ?, message = CASE WHEN ? = 'done' THEN NULL ELSE message END WHERE key = ?"),
      unfinished: sql.prepare("SELECT state, message FROM inbox WHERE state IN ('received', 'started') ORDER BY at, rowid"),
      count: sql.prepare('SELECT count(*) AS n FROM inbox').pluck(),
      pruneOld: sql.prepare("DELETE FROM inbox WHERE state = 'done' AND at < ?"),
      pruneOver: sql.prepare('DELETE FROM inbox WHERE key IN (SELECT key FROM inbox ORDER BY at LIMIT ?)'),
    };
    this.prune();
  }

  /** Records a new message and resolves once it is committed; `duplicate` when the key was seen already. */
  async accept(message: InboundMessage): Promise<'new' | 'duplicate'> {
    const inserted = this.db.transaction(() => this.#statements.insert.run(message.dedupKey, this.#now(), 'received', JSON.stringify(message)).changes);
    // Acknowledged only once on disk; a duplicate's first copy may still be in its own fsync.
    await this.db.durable();
    return inserted === 1 ? 'new' : 'duplicate';
  }

  /** Resolves once the start is committed: a crash after this point never runs the message again. */
  async started(key: string): Promise<void> {
    this.db.transaction(() => this.#statements.setState.run('started', 'started', key));
    await this.db.durable();
  }

  /** Marks the message done; called inside the transaction that queues its reply, so both commit together. */
  markDone(key: string): void {
    this.db.transaction(() => this.#statements.setState.run('done', 'done', key));
  }

  async done(key: string): Promise<void> {
    this.markDone(key);
  }

  /** After a restart: messages acked but never started, and messages whose run was cut off. */
  unfinished(): { toRun: InboundMessage[]; interrupted: InboundMessage[] } {
    const toRun: InboundMessage[] = [];
    const interrupted: InboundMessage[] = [];
    for (const row of this.#statements.unfinished.all() as { state: InboxState; message: string }[]) {
      (row.state === 'received' ? toRun : interrupted).push(JSON.parse(row.message) as InboundMessage);
    }
    return { toRun, interrupted };
  }

  get size(): number {
    return this.#statements.count.get() as number;
  }

  /** Forgets done keys past retention, and the oldest ones beyond the cap; runs on a schedule and at start-up. */
  prune(): void {
    try {
      this.db.transaction(() => {
        this.#statements.pruneOld.run(this.#now() - this.options.retentionMs);
        const over = this.size - (this.options.maxEntries ?? 100_000);
        if (over > 0) this.#statements.pruneOver.run(over);
      });
    } catch {
      // Pruning is housekeeping: a failed one is retried on the next schedule, and the store's health says why.
    }
  }
}
