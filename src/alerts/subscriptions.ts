import type { Collection, Store } from '../store/store.js';
import { parseMatchers, type Matcher } from './matchers.js';

export interface Subscription {
  id: number;
  user: string;
  /** The matchers as the user typed them (canonical form). */
  text: string;
  matchers: Matcher[];
  createdAt: string;
}

interface SubscriptionData {
  seq: number;
  items: Subscription[];
}

/** Personal alert subscriptions: a user and Alertmanager-style matchers. */
export class Subscriptions {
  private constructor(private readonly collection: Collection<SubscriptionData>) {}

  static async open(store: Store): Promise<Subscriptions> {
    return new Subscriptions(await store.open<SubscriptionData>('subscriptions', () => ({ seq: 0, items: [] })));
  }

  get all(): readonly Subscription[] {
    return this.collection.data.items;
  }

  of(user: string): Subscription[] {
    return this.collection.data.items.filter((item) => item.user === user);
  }

  /** Adds a subscription, or returns the one the user already has with the same matchers. */
  async add(user: string, text: string, now: Date): Promise<{ subscription: Subscription; existed: boolean }> {
    const matchers = parseMatchers(text);
    const canonical = JSON.stringify(matchers);
    const existing = this.of(user).find((item) => JSON.stringify(item.matchers) === canonical);
    if (existing) return { subscription: existing, existed: true };
    const data = this.collection.data;
    const subscription: Subscription = { id: ++data.seq, user, text, matchers, createdAt: now.toISOString() };
    data.items.push(subscription);
    try {
      await this.collection.save();
    } catch (error) {
      // The user is told it failed: it must not take effect later when the store heals.
      data.items = data.items.filter((item) => item !== subscription);
      throw error;
    }
    return { subscription, existed: false };
  }

  /** Removes one of the user's subscriptions by id, or all of them; resolves with how many went. */
  async remove(user: string, which: number | 'all'): Promise<number> {
    const data = this.collection.data;
    const before = data.items;
    data.items = before.filter((item) => item.user !== user || (which !== 'all' && item.id !== which));
    const removed = before.length - data.items.length;
    if (removed > 0) {
      try {
        await this.collection.save();
      } catch (error) {
        data.items = before;
        throw error;
      }
    }
    return removed;
  }
}
