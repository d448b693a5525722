import type { Clock, Timer } from '../../src/clock/clock.js';

interface Pending {
  at: number;
  seq: number;
  fire: () => void;
}

/**
 * A clock the test moves: timers fire, in order, only when `advance` passes their time. Between timers the
 * promises they started get to run, so work scheduled by one timer (a check loop's next sleep) is seen.
 */
export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  #pending: Pending[] = [];

  constructor(start = Date.parse('2026-11-26T02:00:00Z')) {
    this.#now = start;
  }

  now = (): number => this.#now;

  #add(ms: number, fire: () => void): Pending {
    const entry = { at: this.#now + Math.max(ms, 0), seq: this.#seq++, fire };
    this.#pending.push(entry);
    return entry;
  }

  #remove(entry: Pending): void {
    const index = this.#pending.indexOf(entry);
    if (index >= 0) this.#pending.splice(index, 1);
  }

  sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
    new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const entry = this.#add(ms, () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
      const onAbort = () => {
        this.#remove(entry);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });

  after = (ms: number, work: () => void): Timer => {
    const entry = this.#add(ms, work);
    return { cancel: () => this.#remove(entry) };
  };

  every = (ms: number, work: () => unknown): Timer => {
    let entry: Pending;
    let cancelled = false;
    const schedule = () => {
      entry = this.#add(ms, () => {
        void Promise.resolve()
          .then(work)
          .catch(() => undefined)
          .finally(() => !cancelled && schedule());
      });
    };
    schedule();
    return {
      cancel: () => {
        cancelled = true;
        this.#remove(entry);
      },
    };
  };

  /** Moves time forward by `ms`, firing every timer due on the way, letting real I/O settle between them. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    for (;;) {
      await settle();
      this.#pending.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.#pending[0];
      if (!next || next.at > target) break;
      this.#pending.shift();
      this.#now = Math.max(this.#now, next.at);
      next.fire();
    }
    this.#now = target;
    await settle();
  }
}

/** Lets promise chains and quick I/O (a local HTTP round trip, a SQLite write) finish. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setTimeout(resolve, 5));
}
