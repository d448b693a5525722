import type { Database } from '../store/database.js';

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
  readonly #statements;

  constructor(
    db: Database,
    private readonly now: () => number,
  ) {
    const sql = db.sql;
    this.#statements = {
      open: sql.prepare('INSERT INTO wecom_cards (task_id, ref, user, sent_at) VALUES (?, ?, ?, ?) ON CONFLICT (task_id) DO NOTHING'),
      code: sql.prepare('UPDATE wecom_cards SET code = ?, code_at = ? WHERE task_id = ?'),
      usable: sql.prepare('SELECT task_id AS taskId, user, code FROM wecom_cards WHERE ref = ? AND code IS NOT NULL AND code_at > ?'),
      spend: sql.prepare('UPDATE wecom_cards SET code = NULL WHERE task_id = ?'),
      taskOf: sql.prepare('SELECT task_id FROM wecom_cards WHERE ref = ? AND user = ? ORDER BY sent_at DESC LIMIT 1').pluck(),
      prune: sql.prepare('DELETE FROM wecom_cards WHERE sent_at < ?'),
    };
  }

  /** A card to `user` named `ref` is queued with this task id (called in the queueing transaction). */
  open(taskId: string, ref: string, user: string): void {
    this.#statements.prune.run(this.now() - CODE_LIFETIME_MS);
    this.#statements.open.run(taskId, ref, user, this.now());
  }

  /** WeCom accepted the card and gave its response code (called in the transaction that marks it sent). */
  sent(taskId: string, code: string): void {
    this.#statements.code.run(code, this.now(), taskId);
  }

  /** Cards named `ref` whose send code is unspent and unexpired. */
  usable(ref: string): TrackedCard[] {
    return this.#statements.usable.all(ref, this.now() - CODE_LIFETIME_MS) as TrackedCard[];
  }

  spend(taskId: string): void {
    this.#statements.spend.run(taskId);
  }

  /** The task id of the newest card named `ref` sent to `user`: an update by a click's code keeps it. */
  taskOf(ref: string, user: string): string | undefined {
    return (this.#statements.taskOf.get(ref, user) as string | undefined) ?? undefined;
  }
}
