import type { SqlClient, Statement } from '../store/sql.js';

/** A response code works for 72 hours (wecom-api.md §4.4); a card older than this cannot be updated. */
const CODE_LIFETIME_MS = 72 * 3_600_000;

export interface TrackedCard {
  taskId: string;
  user: string;
  code: string;
}

/**
 * The app's cards that may change later (an alert group's card: claimed, resolved). WeCom lets a card be updated
 * once per response code: one comes back from the send, one from each click. A click's code is spent by the click's
 * own answer; the send's code is kept here for the first change that comes from elsewhere (a claim typed, another
 * recipient's claim, the resolve). After that the card's 刷新 button brings a fresh code.
 */
export class WecomCards {
  constructor(
    private readonly sql: SqlClient,
    private readonly now: () => number,
  ) {}

  /** A card to `user` named `ref` is queued with this task id: writes for the queueing transaction. */
  opened(taskId: string, ref: string, user: string): Statement[] {
    return [
      { sql: 'DELETE FROM wecom_cards WHERE sent_at < ?', params: [this.now() - CODE_LIFETIME_MS] },
      { sql: 'INSERT INTO wecom_cards (task_id, ref, user_id, sent_at) VALUES (?, ?, ?, ?) ON CONFLICT (task_id) DO NOTHING', params: [taskId, ref, user, this.now()] },
    ];
  }

  /** WeCom accepted the card and gave its response code: writes for the transaction that marks it sent. */
  sent(taskId: string, code: string): Statement[] {
    return [{ sql: 'UPDATE wecom_cards SET code = ?, code_at = ? WHERE task_id = ?', params: [code, this.now(), taskId] }];
  }

  /** Cards named `ref` whose send code is unspent and unexpired. */
  usable(ref: string): Promise<TrackedCard[]> {
    return this.sql.all<TrackedCard>('SELECT task_id AS "taskId", user_id AS "user", code FROM wecom_cards WHERE ref = ? AND code IS NOT NULL AND code_at > ?', [ref, this.now() - CODE_LIFETIME_MS]);
  }

  /** The card's send code is used up: a write for the transaction that queues its update. */
  spent(taskId: string): Statement[] {
    return [{ sql: 'UPDATE wecom_cards SET code = NULL WHERE task_id = ?', params: [taskId] }];
  }

  /** The task id of the newest card named `ref` sent to `user`: an update by a click's code keeps it. */
  async taskOf(ref: string, user: string): Promise<string | undefined> {
    return (await this.sql.get<{ taskId: string }>('SELECT task_id AS "taskId" FROM wecom_cards WHERE ref = ? AND user_id = ? ORDER BY sent_at DESC LIMIT 1', [ref, user]))?.taskId;
  }
}
