import type { Collection, Store } from '../store/store.js';
import type { InboxData } from './inbox.js';
import type { OutboxData } from './outbox.js';

/**
 * The inbox and the outbox share one file. A command's reply entering the outbox and its message being marked
 * done are then one atomic write: after a crash a message is either done with its reply queued, or not done and
 * without one — never both, so the sender never gets the reply and an "interrupted" notice.
 */
export interface WecomState {
  inbox: InboxData;
  outbox: OutboxData;
}

export function openWecomState(store: Store): Promise<Collection<WecomState>> {
  return store.open<WecomState>('wecom', () => ({
    inbox: { entries: {} },
    outbox: { seq: 0, queue: [], sent: {}, failed: [] },
  }));
}
