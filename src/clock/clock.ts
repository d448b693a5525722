/**
 * Time as a parameter: the drill runner, check loops, schedules, approval windows and the outbox's timers take a
 * Clock, so tests drive time instead of waiting for it. `systemClock` is the real one.
 */
export interface Clock {
  now(): number;
  /** Resolves after `ms`; rejects with the signal's reason when it is aborted first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Calls `work` once after `ms`. */
  after(ms: number, work: () => void): Timer;
  /** Calls `work` every `ms` until stopped; a run still going when the next is due is not overlapped. */
  every(ms: number, work: () => unknown): Timer;
}

export interface Timer {
  cancel(): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep(ms, signal) {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, clampDelay(ms));
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  },
  after(ms, work) {
    const timer = setTimeout(work, clampDelay(ms));
    return { cancel: () => clearTimeout(timer) };
  },
  every(ms, work) {
    let busy = false;
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      void Promise.resolve()
        .then(work)
        .catch(() => undefined)
        .finally(() => (busy = false));
    }, clampDelay(ms));
    return { cancel: () => clearInterval(timer) };
  },
};

/** setTimeout fires at once for delays past 2^31-1 ms; no timer of ours needs more than that. */
export const clampDelay = (ms: number): number => Math.min(Math.max(ms, 0), 2 ** 31 - 1);
