import type { SqlClient } from '../store/sql.js';
import { parseMatchers, type Matcher } from './matchers.js';

export interface Subscription {
  id: number;
  user: string;
  /** The matchers as the user typed them (canonical form). */
  text: string;
  matchers: Matcher[];
  createdAt: string;
}

interface Row {
  id: number;
  user_id: string;
  text: string;
  matchers: string;
  created_at: string;
}

const fromRow = (row: Row): Subscription => ({ id: row.id, user: row.user_id, text: row.text, matchers: JSON.parse(row.matchers) as Matcher[], createdAt: row.created_at });

/**
 * Personal alert subscriptions: a user and Alertmanager-style matchers, one row each (a user has one subscription
 * per set of matchers: the database refuses a second). Routing reads them for every alert, so they are also held
 * in memory, read again after each change made here.
 */
export class Subscriptions {
  #items: Subscription[] = [];
  /** What the held list was read at: how many there were and the newest id. */
  #version = '';

  private constructor(private readonly sql: SqlClient) {}

  static async open(sql: SqlClient): Promise<Subscriptions> {
    const subscriptions = new Subscriptions(sql);
    await subscriptions.refresh();
    return subscriptions;
  }

  /** Reads them all again (another replica may have changed them). */
  async refresh(): Promise<void> {
    this.#items = (await this.sql.all<Row>('SELECT id, user_id, text, matchers, created_at FROM subscriptions ORDER BY id')).map(fromRow);
    this.#version = `${this.#items.length}:${this.#items.at(-1)?.id ?? 0}`;
  }

  /**
   * Brings the held list up to date when the table changed (another replica took a subscribe): one small read.
   * Ids only grow, so a count and the newest id tell any change apart.
   */
  async current(): Promise<void> {
    const row = await this.sql.get<{ n: number; top: number | null }>('SELECT count(*) AS n, max(id) AS top FROM subscriptions');
    if (`${Number(row?.n ?? 0)}:${Number(row?.top ?? 0)}` !== this.#version) await this.refresh();
  }

  get all(): readonly Subscription[] {
    return this.#items;
  }

  of(user: string): Subscription[] {
    return this.#items.filter((item) => item.user === user);
  }

  /** Adds a subscription, or returns the one the user already has with the same matchers. */
  async add(user: string, text: string, now: Date): Promise<{ subscription: Subscription; existed: boolean }> {
    const matchers = parseMatchers(text);
    const canonical = JSON.stringify(matchers);
    const [inserted] = await this.sql.batch([
      {
        sql: 'INSERT INTO subscriptions (user_id, text, matchers, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (user_id, matchers) DO NOTHING RETURNING id, user_id, text, matchers, created_at',
        params: [user, text, canonical, now.toISOString()],
      },
    ]);
    await this.refresh();
    const row = inserted!.rows[0] as Row | undefined;
    if (row) return { subscription: fromRow(row), existed: false };
    return { subscription: this.of(user).find((item) => JSON.stringify(item.matchers) === canonical)!, existed: true };
  }

  /** Removes one of the user's subscriptions by id, or all of them; resolves with how many went. */
  async remove(user: string, which: number | 'all'): Promise<number> {
    const removed = which === 'all'
      ? await this.sql.run('DELETE FROM subscriptions WHERE user_id = ?', [user])
      : await this.sql.run('DELETE FROM subscriptions WHERE user_id = ? AND id = ?', [user, which]);
    await this.refresh();
    return removed;
  }
}
