import type { SqlClient, Statement } from '../store/sql.js';
import type { InboundMessage } from './messages.js';

/**
 * Every accepted callback, by dedup key, committed before the ack. WeCom retries a callback up to three times;
 * a key seen before is acknowledged and never run again. The state tells a restart what to do:
 * `received` (acked, never started) runs now; `started` (cut off mid-run) is reported to the sender, not re-run.
 * A callback whose row could not be committed was answered 5xx and left no row, so WeCom's retry runs it.
 * With several replicas every one of them accepts into the same table: the key decides, whichever replica WeCom's
 * retry reaches.
 */
export type InboxState = 'received' | 'started' | 'done';

export interface InboxOptions {
  /** How long keys are remembered; longer than the callback timestamp window, so replays stay refused. */
  retentionMs: number;
  /**
   * How long a repeat of a callback would still pass the timestamp check: a done key this young is kept whatever
   * the cap, since its callback sent again would otherwise run again.
   */
  replayWindowMs?: number;
  /** How many done keys are remembered at most (beyond the replay window). */
  maxEntries?: number;
  now?: () => number;
}

/** Keys deleted per commit when pruning. */
const PRUNE_CHUNK = 2_000;

export class Inbox {
  readonly #now: () => number;

  private constructor(
    private readonly sql: SqlClient,
    private readonly options: InboxOptions,
  ) {
    this.#now = options.now ?? Date.now;
  }

  static async open(sql: SqlClient, options: InboxOptions): Promise<Inbox> {
    const inbox = new Inbox(sql, options);
    await inbox.prune();
    return inbox;
  }

  /** Records a new message and resolves once it is on disk; `duplicate` when the key was seen already. */
  async accept(message: InboundMessage): Promise<'new' | 'duplicate'> {
    const inserted = await this.sql.run("INSERT INTO inbox (key, at, state, message) VALUES (?, ?, 'received', ?) ON CONFLICT (key) DO NOTHING", [message.dedupKey, this.#now(), JSON.stringify(message)]);
    return inserted === 1 ? 'new' : 'duplicate';
  }

  /** Resolves once the start is on disk: a crash after this point never runs the message again. */
  async started(key: string): Promise<void> {
    await this.sql.run("UPDATE inbox SET state = 'started' WHERE key = ?", [key]);
  }

  /** The done mark as writes, for the transaction that queues the message's reply: both commit together. */
  doneMark(key: string): Statement[] {
    return [{ sql: "UPDATE inbox SET state = 'done', message = NULL WHERE key = ?", params: [key] }];
  }

  /** Marks a message done that has no reply to queue. */
  async done(key: string): Promise<void> {
    await this.sql.batch(this.doneMark(key));
  }

  /** After a restart: messages acked but never started, and messages whose run was cut off. */
  async unfinished(): Promise<{ toRun: InboundMessage[]; interrupted: InboundMessage[] }> {
    const toRun: InboundMessage[] = [];
    const interrupted: InboundMessage[] = [];
    const rows = await this.sql.all<{ state: InboxState; message: string }>("SELECT state, message FROM inbox WHERE state IN ('received', 'started') ORDER BY at, key");
    for (const row of rows) (row.state === 'received' ? toRun : interrupted).push(JSON.parse(row.message) as InboundMessage);
    return { toRun, interrupted };
  }

  /**
   * The oldest messages acked but never started, leaving out those `skip` names (already running here), at most
   * `limit` of them: what a leader polls for with several replicas, at a cost that does not grow with a backlog.
   */
  async received(limit: number, skip: (key: string) => boolean): Promise<InboundMessage[]> {
    const keys = (await this.sql.all<{ key: string }>("SELECT key FROM inbox WHERE state = 'received' ORDER BY at, key LIMIT ?", [limit])).map((row) => row.key).filter((key) => !skip(key));
    if (keys.length === 0) return [];
    const rows = await this.sql.all<{ message: string }>(`SELECT message FROM inbox WHERE state = 'received' AND key IN (${keys.map(() => '?').join(', ')}) ORDER BY at, key`, keys);
    return rows.map((row) => JSON.parse(row.message) as InboundMessage);
  }

  async size(): Promise<number> {
    return Number((await this.sql.get<{ n: number }>('SELECT count(*) AS n FROM inbox'))?.n ?? 0);
  }

  /** Forgets up to `count` done keys older than `before`, oldest first, a few thousand per commit (no long stall). */
  async #forget(before: number, count: number): Promise<void> {
    for (let left = count; left > 0; ) {
      const chunk = Math.min(left, PRUNE_CHUNK);
      const deleted = await this.sql.run("DELETE FROM inbox WHERE key IN (SELECT key FROM inbox WHERE state = 'done' AND at < ? ORDER BY at LIMIT ?)", [before, chunk]);
      if (deleted < chunk) return;
      left -= deleted;
    }
  }

  /**
   * Forgets done keys past retention, then the oldest done keys beyond the cap that are out of the replay window;
   * runs on a schedule and at start-up. A message not yet done is acknowledged work and is never forgotten.
   */
  async prune(): Promise<void> {
    const now = this.#now();
    try {
      await this.#forget(now - this.options.retentionMs, Infinity);
      const done = Number((await this.sql.get<{ n: number }>("SELECT count(*) AS n FROM inbox WHERE state = 'done'"))?.n ?? 0);
      const over = done - (this.options.maxEntries ?? 100_000);
      if (over > 0) await this.#forget(now - (this.options.replayWindowMs ?? 0), over);
    } catch {
      // Pruning is housekeeping: a failed one is retried on the next schedule, and the store's health says why.
    }
  }
}
