import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import type { Clock } from '../clock/clock.js';

/** How often the gate looks at the arrivals and the event loop. */
export const FLOOD_WINDOW_MS = 250;
/** Callbacks accepted in one window that make a flood when the event loop is saturated too (600/s: far beyond a team typing). */
export const FLOOD_ARRIVALS = 150;
/** Event loop busy this share of a window or more (the rest is mostly waiting for the log fsync): running messages now would slow the acks down. */
export const FLOOD_BUSY = 0.7;
/** Messages that still start in a window of a flood (20/s), so a flood that lasts still gets answers. */
export const FLOOD_STARTS = 5;

export interface FloodGateOptions {
  clock: Clock;
  /** The event loop's busy share since the previous call (tests give their own). */
  busy?: () => number;
}

/**
 * Acks first while callbacks flood in. WeCom waits 5 s for an ack and then sends the callback again; a process that
 * runs every message as it arrives spends most of its time on the running (routing, the reply's transaction, the
 * send), so in a burst its acks slow down and the retries add to the burst. Every accepted message is already
 * durable in the inbox, so running it can wait: while the event loop is saturated and callbacks keep arriving
 * faster than people type, only a few messages start per window, in order; the backlog is worked off at full speed
 * as soon as the burst ends. Outside a flood the gate never waits.
 */
export class FloodGate {
  readonly #clock: Clock;
  readonly #busy: () => number;
  #windowStart: number;
  #arrivals = 0;
  #starts = 0;
  #flooding = false;
  /** Turns wait one behind the other, so messages start in the order they were queued. */
  #queue: Promise<void> = Promise.resolve();

  constructor(options: FloodGateOptions) {
    this.#clock = options.clock;
    this.#busy = options.busy ?? eventLoopBusy();
    this.#windowStart = this.#clock.now();
  }

  /** A callback was just accepted. */
  arrived(): void {
    this.#roll();
    this.#arrivals++;
  }

  /** Whether the last window was a flood. */
  get flooding(): boolean {
    this.#roll();
    return this.#flooding;
  }

  /** Resolves when a message may start: at once outside a flood, else within the window's few starts. */
  turn(): Promise<void> {
    const turn = this.#queue.then(() => this.#wait());
    this.#queue = turn;
    return turn;
  }

  async #wait(): Promise<void> {
    for (;;) {
      this.#roll();
      if (!this.#flooding || this.#starts < FLOOD_STARTS) {
        this.#starts++;
        return;
      }
      await this.#clock.sleep(this.#windowStart + FLOOD_WINDOW_MS - this.#clock.now() + 1);
    }
  }

  /** Closes the window once it is over: was it a flood? */
  #roll(): void {
    const now = this.#clock.now();
    if (now - this.#windowStart < FLOOD_WINDOW_MS) return;
    const busy = this.#busy();
    // A window with nothing happening for a long time ends any flood, whatever the loop did meanwhile.
    const spanned = now - this.#windowStart;
    this.#flooding = spanned < 2 * FLOOD_WINDOW_MS && this.#arrivals >= FLOOD_ARRIVALS && busy >= FLOOD_BUSY;
    this.#windowStart = now;
    this.#arrivals = 0;
    this.#starts = 0;
  }
}

/** The event loop's utilisation since the previous call. */
function eventLoopBusy(): () => number {
  let previous: EventLoopUtilization = performance.eventLoopUtilization();
  return () => {
    const now = performance.eventLoopUtilization();
    const share = performance.eventLoopUtilization(now, previous).utilization;
    previous = now;
    return share;
  };
}
