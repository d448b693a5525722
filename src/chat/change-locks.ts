import { randomUUID } from 'node:crypto';
import type { Clock, Timer } from '../clock/clock.js';
import { DB_NOW_MS, fenced, type Fence, type SqlClient } from '../store/sql.js';

/** Who is changing an app in an environment, with what, since when (ms). */
export interface Lock {
  user: string;
  text: string;
  since: number;
}

export interface ChangeLocksOptions {
  clock: Clock;
  /** With several replicas: only the leader starts a change. */
  fence?: Fence;
  /** A lock its process stopped renewing is free after this long (by the database's clock). */
  ttlMs?: number;
}

export type Acquired = { held: true; release(): Promise<void> } | { held: false; busy?: Lock };

/**
 * One change at a time per app and environment, held in the database: a replica that takes over in the middle of
 * a rollout still refuses a second change to that app, and so does a restarted process. A running change renews its
 * lock; the lock of a process that died frees itself after `ttlMs`. A change is started only under the leader's
 * fence; a renewal is not, so a change that a deposed leader is still following keeps its app locked until it ends.
 */
export class ChangeLocks {
  readonly #ttlMs: number;
  readonly #now: string;

  constructor(
    private readonly sql: SqlClient,
    private readonly options: ChangeLocksOptions,
  ) {
    this.#ttlMs = options.ttlMs ?? 60_000;
    this.#now = DB_NOW_MS[sql.dialect];
  }

  async holder(environment: string, app: string): Promise<Lock | undefined> {
    const row = await this.sql.get<{ user_id: string; text: string; since: number }>(`SELECT user_id, text, since FROM change_locks WHERE environment = ? AND app = ? AND expires_at >= ${this.#now}`, [environment, app]);
    return row && { user: row.user_id, text: row.text, since: Number(row.since) };
  }

  /** Takes the app's lock, or says who holds it (`busy`), or neither when this replica no longer leads. */
  async acquire(environment: string, app: string, lock: Lock): Promise<Acquired> {
    const owner = randomUUID();
    const fence = fenced(this.options.fence);
    const taken = await this.sql.get<{ owner: string }>(
      `INSERT INTO change_locks (environment, app, user_id, text, since, owner, expires_at)
       SELECT ?, ?, ?, ?, ?, ?, ${this.#now} + ? WHERE ${fence.sql}
       ON CONFLICT (environment, app) DO UPDATE SET user_id = excluded.user_id, text = excluded.text, since = excluded.since, owner = excluded.owner, expires_at = excluded.expires_at
       WHERE change_locks.expires_at < ${this.#now}
       RETURNING owner`,
      [environment, app, lock.user, lock.text, lock.since, owner, this.#ttlMs, ...fence.params],
    );
    if (!taken) return { held: false, busy: await this.holder(environment, app) };
    const renewal: Timer = this.options.clock.every(this.#ttlMs / 4, () => {
      void this.sql.run(`UPDATE change_locks SET expires_at = ${this.#now} + ? WHERE environment = ? AND app = ? AND owner = ?`, [this.#ttlMs, environment, app, owner]).catch(() => {
        // The next renewal tries again; a lock that expires meanwhile only lets a second change start early.
      });
    });
    return {
      held: true,
      release: async () => {
        renewal.cancel();
        await this.sql.run('DELETE FROM change_locks WHERE environment = ? AND app = ? AND owner = ?', [environment, app, owner]);
      },
    };
  }
}
