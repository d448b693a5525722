import type { Logger } from 'pino';
import type { Clock, Timer } from '../clock/clock.js';
import { DB_NOW_MS, type SqlClient } from './sql.js';

export interface LeadershipOptions {
  /** This replica's name (host name and process id): who holds the lease. */
  id: string;
  /** A lease not renewed for this long may be taken by another replica. */
  ttlMs?: number;
  /** How often the holder renews and the others try. */
  renewMs?: number;
  clock: Clock;
  logger: Logger;
  /** Called when this replica starts or stops leading; `epoch` numbers the term. */
  onChange?: (leading: boolean, epoch: number | undefined) => void;
}

/**
 * One leader among the replicas, elected through the database itself (a lease row with a fencing epoch), not a
 * Kubernetes Lease: wekube must keep leading while the cluster's API is down during the drills it runs. The leader
 * runs the timers, windows, sends and drill checks; every replica takes callbacks and webhooks.
 *
 * - Take or renew: one statement that succeeds only if the lease is this replica's or has expired, by the
 *   database's clock; a new term increments the epoch.
 * - Fencing: a leader's side-effecting writes carry `fence()`, a condition that holds only while its epoch is the
 *   current one and unexpired, so a deposed leader's late write changes nothing.
 * - A leader that cannot renew (the database refuses, or never answers) stops leading before its lease can expire,
 *   so two never act at once; stopping hands the lease over at once.
 */
export class Leadership {
  readonly #ttlMs: number;
  readonly #renewMs: number;
  #epoch: number | undefined;
  /** When the last renewal that succeeded was asked for, by this process's clock. */
  #askedAt = 0;
  /** A renewal is under way: a round never sends a second one beside it. */
  #asking = false;
  #timer: Timer | undefined;
  #stopped = false;

  constructor(
    private readonly sql: SqlClient,
    private readonly options: LeadershipOptions,
  ) {
    this.#ttlMs = options.ttlMs ?? 6_000;
    this.#renewMs = options.renewMs ?? 1_500;
  }

  get leading(): boolean {
    return this.#epoch !== undefined;
  }

  get epoch(): number | undefined {
    return this.#epoch;
  }

  /** Tries at once, then every `renewMs`. */
  async start(): Promise<void> {
    this.#stopped = false;
    await this.#round();
  }

  /**
   * How long after asking for its last renewal a leader still acts: the lease runs `ttlMs` from when the database
   * ran the statement, which is no earlier than when it was asked; two rounds are left for the other replicas.
   */
  get #trustMs(): number {
    return this.#ttlMs - 2 * this.#renewMs;
  }

  async #round(): Promise<void> {
    if (this.#stopped) return;
    const { clock, logger } = this.options;
    // The next round comes on time even when this one's statement never comes back (a database that stopped
    // answering, a network that drops everything): the leader must still see its lease run out.
    this.#timer = clock.after(this.#renewMs, () => void this.#round());
    if (this.leading && clock.now() - this.#askedAt > this.#trustMs) {
      logger.error('the leader lease could not be renewed in time; stepping down');
      this.#set(undefined);
    }
    if (this.#asking) return;
    this.#asking = true;
    const asked = clock.now();
    try {
      const epoch = await this.#take();
      // A renewal that lands after this replica stopped (after its release), or too late to trust (the lease may have
      // run out meanwhile), renews nothing: the term it got is given back at once, so nobody waits for it to expire.
      if (epoch !== undefined && (this.#stopped || clock.now() - asked > this.#trustMs)) {
        this.#set(undefined);
        await this.#release(epoch);
        return;
      }
      if (this.#stopped) return;
      if (epoch !== undefined) this.#askedAt = asked;
      this.#set(epoch);
    } catch (error) {
      if (!this.leading) logger.warn({ err: error }, 'cannot reach the database to elect a leader');
    } finally {
      this.#asking = false;
    }
  }

  async #take(): Promise<number | undefined> {
    const now = DB_NOW_MS[this.sql.dialect];
    const row = await this.sql.get<{ epoch: number }>(
      `INSERT INTO leader (name, holder, epoch, expires_at) VALUES ('wekube', ?, 1, ${now} + ?)
       ON CONFLICT (name) DO UPDATE SET
         epoch = CASE WHEN leader.holder = excluded.holder AND leader.expires_at >= ${now} THEN leader.epoch ELSE leader.epoch + 1 END,
         holder = excluded.holder,
         expires_at = excluded.expires_at
       WHERE leader.holder = excluded.holder OR leader.expires_at < ${now}
       RETURNING epoch`,
      [this.options.id, this.#ttlMs],
    );
    return row?.epoch;
  }

  #set(epoch: number | undefined): void {
    if (epoch === this.#epoch) return;
    const was = this.#epoch;
    this.#epoch = epoch;
    this.options.logger.info({ epoch, was }, epoch === undefined ? 'no longer the leader' : 'leading');
    this.options.onChange?.(epoch !== undefined, epoch);
  }

  /**
   * A condition for a side-effecting statement: true only while `epoch` is the current, unexpired term. Use as
   * `... WHERE <own conditions> AND ${fence.sql}` with `fence.params` appended.
   */
  fence(epoch = this.#epoch): { sql: string; params: [number] } {
    return { sql: `EXISTS (SELECT 1 FROM leader WHERE name = 'wekube' AND epoch = ? AND expires_at >= ${DB_NOW_MS[this.sql.dialect]})`, params: [epoch ?? -1] };
  }

  /** Stops trying; a leader gives its lease up, so another replica takes over at its next round. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#timer?.cancel();
    if (!this.leading) return;
    const epoch = this.#epoch!;
    this.#set(undefined);
    await this.#release(epoch);
  }

  /** Ends this replica's term `epoch` in the database at once. */
  async #release(epoch: number): Promise<void> {
    await this.sql.run("UPDATE leader SET expires_at = 0 WHERE name = 'wekube' AND holder = ? AND epoch = ?", [this.options.id, epoch]).catch(() => {});
  }
}
