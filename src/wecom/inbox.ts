import type { Collection } from '../store/store.js';
import type { InboundMessage } from './messages.js';
import type { WecomState } from './state.js';

/**
 * Every accepted callback, by dedup key, persisted before the ack. WeCom retries a callback up to three times;
 * a key seen before is acknowledged and never run again. The state tells a restart what to do:
 * `received` (acked, never started) runs now; `started` (cut off mid-run) is reported to the sender, not re-run.
 */
export type InboxState = 'received' | 'started' | 'done';

interface InboxEntry {
  at: number;
  state: InboxState;
  /** Kept until done, so a restart can run or report it. */
  message?: InboundMessage;
}

export interface InboxData {
  entries: Record<string, InboxEntry>;
}

export interface InboxOptions {
  /** How long keys are remembered; longer than the callback timestamp window, so replays stay refused. */
  retentionMs: number;
  maxEntries?: number;
  now?: () => number;
}

export class Inbox {
  readonly #now: () => number;

  constructor(
    private readonly collection: Collection<WecomState>,
    private readonly options: InboxOptions,
  ) {
    this.#now = options.now ?? Date.now;
    this.prune();
  }

  get #entries(): Record<string, InboxEntry> {
    return this.collection.data.inbox.entries;
  }

  /** Records a new message and resolves once it is on disk; `duplicate` when the key was seen already. */
  async accept(message: InboundMessage): Promise<'new' | 'duplicate'> {
    const entries = this.#entries;
    if (entries[message.dedupKey]) return 'duplicate';
    entries[message.dedupKey] = { at: this.#now(), state: 'received', message };
    await this.collection.save();
    return 'new';
  }

  /** Resolves once the start is on disk: a crash after this point never runs the message again. */
  async started(key: string): Promise<void> {
    const entry = this.#entries[key];
    if (!entry) return;
    entry.state = 'started';
    await this.collection.save();
  }

  /** Marks the message done in memory; the next write (the one that queues its reply) records it. */
  markDone(key: string): void {
    const entry = this.#entries[key];
    if (!entry) return;
    entry.state = 'done';
    delete entry.message;
  }

  done(key: string): Promise<void> {
    this.markDone(key);
    return this.collection.save();
  }

  /** After a restart: messages acked but never started, and messages whose run was cut off. */
  unfinished(): { toRun: InboundMessage[]; interrupted: InboundMessage[] } {
    const toRun: InboundMessage[] = [];
    const interrupted: InboundMessage[] = [];
    const entries = Object.values(this.#entries).sort((a, b) => a.at - b.at);
    for (const entry of entries) {
      if (!entry.message) continue;
      if (entry.state === 'received') toRun.push(entry.message);
      else if (entry.state === 'started') interrupted.push(entry.message);
    }
    return { toRun, interrupted };
  }

  get size(): number {
    return Object.keys(this.#entries).length;
  }

  /** Forgets keys past retention, and the oldest ones beyond the cap. */
  prune(): void {
    const entries = this.#entries;
    const cutoff = this.#now() - this.options.retentionMs;
    let removed = 0;
    for (const [key, entry] of Object.entries(entries)) {
      if (entry.at < cutoff && entry.state === 'done') {
        delete entries[key];
        removed++;
      }
    }
    const max = this.options.maxEntries ?? 20_000;
    const keys = Object.keys(entries);
    if (keys.length > max) {
      for (const [key] of Object.entries(entries).sort(([, a], [, b]) => a.at - b.at).slice(0, keys.length - max)) delete entries[key];
      removed++;
    }
    if (removed > 0) void this.collection.save().catch(() => undefined);
  }
}
